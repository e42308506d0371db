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
    catalog_anime (id) {
        admin_locked -> Array<Nullable<Text>>,
        alternative_titles -> Array<Nullable<Text>>,
        content_hash -> Bytea,
        created_at -> Timestamptz,
        description -> Nullable<Text>,
        episodes_total -> Nullable<Int4>,
        genre_keys -> Array<Nullable<Text>>,
        genres -> Array<Nullable<Text>>,
        id -> Uuid,
        kind -> Int2,
        poster -> Nullable<Text>,
        search_text -> Text,
        source_id -> Text,
        source_name -> Text,
        status -> Int2,
        title -> Text,
        updated_at -> Timestamptz,
        year -> Nullable<Int4>,
    }
}

diesel::table! {
    catalog_episodes (id) {
        anime_id -> Uuid,
        content_hash -> Bytea,
        created_at -> Timestamptz,
        id -> Uuid,
        is_available -> Bool,
        number -> Int4,
        season -> Int4,
        source_episode_id -> Text,
        title -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    catalog_import_releases (source, release_id) {
        content_hash -> Bytea,
        imported_at -> Timestamptz,
        release_id -> Text,
        source -> Text,
    }
}

diesel::table! {
    catalog_import_runs (job_id) {
        anime_seen -> Int4,
        cursor -> Nullable<Text>,
        failed -> Int4,
        failures -> Jsonb,
        high_water -> Nullable<Timestamptz>,
        imported -> Int4,
        job_id -> Int8,
        listing_done -> Bool,
        max_pages -> Int4,
        mode -> Int2,
        pages -> Int4,
        releases_seen -> Int4,
        requests -> Int4,
        retries -> Int4,
        since -> Nullable<Timestamptz>,
        skipped -> Int4,
        source -> Text,
        started_at -> Timestamptz,
        unchanged -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    catalog_import_state (source) {
        source -> Text,
        updated_at -> Timestamptz,
        watermark -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    catalog_videos (id) {
        content_hash -> Bytea,
        created_at -> Timestamptz,
        episode_id -> Uuid,
        id -> Uuid,
        player_type -> Int2,
        priority -> Int4,
        provider -> Text,
        quality -> Nullable<Text>,
        translation_id -> Text,
        translation_title -> Text,
        translation_type -> Int2,
        updated_at -> Timestamptz,
        url -> Text,
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

diesel::table! {
    playlist_categories (playlist_id, kind, category_id) {
        category_id -> Text,
        kind -> Int2,
        name -> Text,
        parent_id -> Nullable<Text>,
        playlist_id -> Int8,
        position -> Int4,
    }
}

diesel::table! {
    playlist_episodes (playlist_id, episode_id) {
        container_extension -> Nullable<Text>,
        duration_secs -> Nullable<Int8>,
        episode_id -> Text,
        episode_num -> Nullable<Int4>,
        playlist_id -> Int8,
        season -> Int4,
        series_id -> Text,
        title -> Text,
    }
}

diesel::table! {
    playlist_favorites (owner_key_id, playlist_id, kind, item_id) {
        created_at -> Timestamptz,
        display_name -> Text,
        item_id -> Text,
        kind -> Int2,
        owner_key_id -> Uuid,
        playlist_id -> Int8,
    }
}

diesel::table! {
    playlist_items (playlist_id, kind, item_id) {
        actor_keys -> Array<Nullable<Text>>,
        actors -> Array<Nullable<Text>>,
        added -> Int8,
        category_ids -> Array<Nullable<Text>>,
        container_extension -> Nullable<Text>,
        content_hash -> Bytea,
        director -> Nullable<Text>,
        epg_channel_id -> Nullable<Text>,
        genre_keys -> Array<Nullable<Text>>,
        genres -> Array<Nullable<Text>>,
        icon -> Nullable<Text>,
        item_id -> Text,
        kind -> Int2,
        name -> Text,
        original_title -> Nullable<Text>,
        playlist_id -> Int8,
        plot -> Nullable<Text>,
        rating -> Float4,
        search_text -> Text,
        sort_name -> Text,
        tv_archive -> Bool,
        year -> Int4,
    }
}

diesel::table! {
    playlist_sync_runs (job_id) {
        job_id -> Int8,
        playlist_id -> Int8,
        sections -> Jsonb,
        started_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    playlists (id) {
        account_status -> Text,
        active_connections -> Int4,
        checked_at -> Timestamptz,
        created_at -> Timestamptz,
        credentials_secret -> Uuid,
        display_name -> Text,
        expires_at -> Nullable<Timestamptz>,
        id -> Int8,
        last_sync_at -> Nullable<Timestamptz>,
        last_sync_run -> Nullable<Int8>,
        max_connections -> Int4,
        next_sync_at -> Timestamptz,
        output_formats -> Array<Nullable<Text>>,
        owner_key_id -> Uuid,
        panel_family -> Int2,
        request_id -> Nullable<Uuid>,
        server_time_zone -> Text,
        server_url -> Text,
        sync_enabled -> Bool,
        trial -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    secrets (id) {
        created_at -> Timestamptz,
        id -> Uuid,
        key_id -> Text,
        purpose -> Text,
        sealed -> Bytea,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(catalog_episodes -> catalog_anime (anime_id));
diesel::joinable!(catalog_import_runs -> jobs (job_id));
diesel::joinable!(catalog_videos -> catalog_episodes (episode_id));
diesel::joinable!(playlist_categories -> playlists (playlist_id));
diesel::joinable!(playlist_episodes -> playlists (playlist_id));
diesel::joinable!(playlist_favorites -> playlists (playlist_id));
diesel::joinable!(playlist_items -> playlists (playlist_id));
diesel::joinable!(playlist_sync_runs -> jobs (job_id));
diesel::joinable!(playlist_sync_runs -> playlists (playlist_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    catalog_anime,
    catalog_episodes,
    catalog_import_releases,
    catalog_import_runs,
    catalog_import_state,
    catalog_videos,
    job_schedules,
    jobs,
    mapping_cache_outbox,
    mapping_keys,
    mapping_overrides,
    mapping_records,
    mapping_sources,
    mapping_state,
    mapping_titles,
    playlist_categories,
    playlist_episodes,
    playlist_favorites,
    playlist_items,
    playlist_sync_runs,
    playlists,
    secrets,
);
