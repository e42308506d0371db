// @generated automatically by Diesel CLI.

diesel::table! {
    api_keys (id) {
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        id -> Uuid,
        last_used_at -> Nullable<Timestamptz>,
        name -> Text,
        prefix -> Text,
        revoked_at -> Nullable<Timestamptz>,
        scopes -> Array<Nullable<Text>>,
        secret_sha256 -> Bytea,
    }
}
