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

diesel::table! {
    mapping_cache_outbox (id) {
        created_at -> Timestamptz,
        id -> Int8,
        keys -> Array<Nullable<Text>>,
        platforms -> Array<Nullable<Int2>>,
        record_ids -> Array<Nullable<Int8>>,
    }
}

diesel::table! {
    mapping_keys (platform, key) {
        key -> Text,
        platform -> Int2,
        record_id -> Int8,
    }
}

diesel::table! {
    mapping_overrides (id) {
        change -> Jsonb,
        created_at -> Timestamptz,
        id -> Uuid,
        note -> Text,
        subject_id -> Text,
        subject_platform -> Int2,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    mapping_records (id) {
        body -> Bytea,
        content_hash -> Bytea,
        created_at -> Timestamptz,
        id -> Int8,
        media_type -> Int2,
        title -> Text,
        updated_at -> Timestamptz,
        year -> Nullable<Int4>,
    }
}

diesel::table! {
    mapping_sources (kind, location) {
        body -> Nullable<Bytea>,
        changed_at -> Timestamptz,
        checked_at -> Timestamptz,
        etag -> Nullable<Text>,
        kind -> Text,
        last_modified -> Nullable<Text>,
        location -> Text,
        records -> Int8,
        sha256 -> Text,
    }
}

diesel::table! {
    mapping_state (singleton) {
        counts -> Jsonb,
        data_updated_at -> Timestamptz,
        inputs_sha256 -> Text,
        last_run_id -> Nullable<Int8>,
        singleton -> Bool,
        total_records -> Int8,
    }
}

diesel::table! {
    mapping_titles (record_id, title) {
        normalized -> Text,
        record_id -> Int8,
        title -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    job_schedules,
    jobs,
    mapping_cache_outbox,
    mapping_keys,
    mapping_overrides,
    mapping_records,
    mapping_sources,
    mapping_state,
    mapping_titles,
);
