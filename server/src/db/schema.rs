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

diesel::table! {
    job_schedules (name) {
        created_at -> Timestamptz,
        cron -> Text,
        kind -> Text,
        last_job_id -> Nullable<Int8>,
        last_run_at -> Nullable<Timestamptz>,
        name -> Text,
        next_run_at -> Timestamptz,
        paused -> Bool,
        payload -> Jsonb,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (id) {
        attempts -> Int4,
        cancel_requested -> Bool,
        created_at -> Timestamptz,
        dedupe_key -> Nullable<Text>,
        finished_at -> Nullable<Timestamptz>,
        id -> Int8,
        kind -> Text,
        last_error -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamptz>,
        locked_by -> Nullable<Text>,
        max_attempts -> Int4,
        payload -> Jsonb,
        priority -> Int2,
        progress -> Nullable<Jsonb>,
        result -> Nullable<Jsonb>,
        run_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        state -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(api_keys, job_schedules, jobs,);
