-- CatalogService, IPTV part: Xtream Codes playlists, their synced catalogs, sync runs and
-- favorites. See server/src/services/catalog/playlists/mod.rs.

CREATE TABLE playlists (
    id BIGSERIAL PRIMARY KEY,
    -- The API key that created it (its owner).
    owner_key_id UUID NOT NULL,
    -- CreatePlaylist's request_id: a retried create returns the first playlist.
    request_id UUID,
    display_name TEXT NOT NULL,
    server_url TEXT NOT NULL,
    -- The sealed {username, password} (secrets table); never stored in clear.
    credentials_secret UUID NOT NULL,
    -- The account as the panel last described it.
    account_status TEXT NOT NULL,
    expires_at TIMESTAMPTZ,
    max_connections INTEGER NOT NULL,
    active_connections INTEGER NOT NULL,
    trial BOOLEAN NOT NULL,
    server_time_zone TEXT NOT NULL,
    -- medley.v1.PanelFamily number.
    panel_family SMALLINT NOT NULL,
    output_formats TEXT[] NOT NULL,
    checked_at TIMESTAMPTZ NOT NULL,
    sync_enabled BOOLEAN NOT NULL,
    -- When the schedule syncs it next (6 h after the last sync, jittered).
    next_sync_at TIMESTAMPTZ NOT NULL,
    last_sync_run BIGINT,
    last_sync_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (owner_key_id, request_id)
);
CREATE INDEX playlists_by_owner ON playlists (owner_key_id, id);
CREATE INDEX playlists_due ON playlists (next_sync_at) WHERE sync_enabled;

-- kind: medley.v1.PlaylistItemKind number (1 live, 2 vod, 3 series).
CREATE TABLE playlist_categories (
    playlist_id BIGINT NOT NULL REFERENCES playlists ON DELETE CASCADE,
    kind SMALLINT NOT NULL,
    category_id TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id TEXT,
    -- The panel's order.
    position INTEGER NOT NULL,
    PRIMARY KEY (playlist_id, kind, category_id)
);

CREATE TABLE playlist_items (
    playlist_id BIGINT NOT NULL REFERENCES playlists ON DELETE CASCADE,
    kind SMALLINT NOT NULL,
    item_id TEXT NOT NULL,
    name TEXT NOT NULL,
    original_title TEXT,
    category_ids TEXT[] NOT NULL,
    icon TEXT,
    container_extension TEXT,
    -- 0 = unknown, for rating, year and added (Unix seconds): keeps cursors simple.
    rating REAL NOT NULL,
    year INTEGER NOT NULL,
    added BIGINT NOT NULL,
    genres TEXT[] NOT NULL,
    actors TEXT[] NOT NULL,
    director TEXT,
    plot TEXT,
    epg_channel_id TEXT,
    tv_archive BOOLEAN NOT NULL,
    -- Lower-case ASCII folds (accents removed) for sorting, search and the facet filters.
    sort_name TEXT NOT NULL,
    search_text TEXT NOT NULL,
    genre_keys TEXT[] NOT NULL,
    actor_keys TEXT[] NOT NULL,
    -- Hash of the synced content: an unchanged item is never written.
    content_hash BYTEA NOT NULL,
    PRIMARY KEY (playlist_id, kind, item_id)
);
CREATE INDEX playlist_items_search ON playlist_items USING gin (search_text gin_trgm_ops);
CREATE INDEX playlist_items_genres ON playlist_items USING gin (genre_keys);
CREATE INDEX playlist_items_actors ON playlist_items USING gin (actor_keys);
CREATE INDEX playlist_items_categories ON playlist_items USING gin (category_ids);
CREATE INDEX playlist_items_by_name ON playlist_items (playlist_id, kind, sort_name, item_id);
CREATE INDEX playlist_items_by_added ON playlist_items (playlist_id, kind, added, item_id);
CREATE INDEX playlist_items_by_rating ON playlist_items (playlist_id, kind, rating, item_id);
CREATE INDEX playlist_items_by_year ON playlist_items (playlist_id, kind, year, item_id);

-- Episodes as GetSeries last fetched them (stream URLs and downloads need their container).
CREATE TABLE playlist_episodes (
    playlist_id BIGINT NOT NULL REFERENCES playlists ON DELETE CASCADE,
    episode_id TEXT NOT NULL,
    series_id TEXT NOT NULL,
    season INTEGER NOT NULL,
    episode_num INTEGER,
    title TEXT NOT NULL,
    container_extension TEXT,
    duration_secs BIGINT,
    PRIMARY KEY (playlist_id, episode_id)
);
CREATE INDEX playlist_episodes_by_series ON playlist_episodes (playlist_id, series_id, season);

-- A sync run's sections (its state is its job's).
CREATE TABLE playlist_sync_runs (
    job_id BIGINT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    playlist_id BIGINT NOT NULL REFERENCES playlists ON DELETE CASCADE,
    -- [{section, state, added, changed, removed, unchanged, favorites_gone, error, duration_ms}]
    sections JSONB NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX playlist_sync_runs_by_playlist ON playlist_sync_runs (playlist_id, job_id);

-- Favorites point at items by id with no foreign key: an item gone from the panel keeps its
-- favorite (shown as gone).
CREATE TABLE playlist_favorites (
    owner_key_id UUID NOT NULL,
    playlist_id BIGINT NOT NULL REFERENCES playlists ON DELETE CASCADE,
    kind SMALLINT NOT NULL,
    item_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_key_id, playlist_id, kind, item_id)
);
CREATE INDEX playlist_favorites_by_time ON playlist_favorites (owner_key_id, created_at DESC);
-- Deleting a playlist finds its favorites.
CREATE INDEX playlist_favorites_by_playlist ON playlist_favorites (playlist_id, kind, item_id);
