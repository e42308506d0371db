-- MappingService: merged anime records, their lookup keys, search titles, sources, overrides,
-- and the cache outbox. See server/src/services/mapping/mod.rs.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SEQUENCE mapping_record_ids;

CREATE TABLE mapping_records (
    id BIGINT PRIMARY KEY,
    title TEXT NOT NULL,
    media_type SMALLINT NOT NULL DEFAULT 0,
    year INTEGER,
    -- Encoded medley.v1.MappingRecord, exactly what the cache holds.
    body BYTEA NOT NULL,
    -- SHA-256 of the encoding without update_time: a run rewrites a record only when it changes.
    content_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- (platform, key) -> record. The primary key is the guarantee that no id maps to two records.
-- No foreign key: runs remove a vanished record's keys and titles themselves (they are in the
-- run's diff), and a per-row FK check made the first load of ~300,000 keys four times slower.
CREATE TABLE mapping_keys (
    platform SMALLINT NOT NULL,
    key TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (platform, key)
);
CREATE INDEX mapping_keys_record ON mapping_keys (record_id);

CREATE TABLE mapping_titles (
    record_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    normalized TEXT NOT NULL,
    PRIMARY KEY (record_id, title)
);
CREATE INDEX mapping_titles_trgm ON mapping_titles USING gin (normalized gin_trgm_ops)
    WITH (gin_pending_list_limit = 16384);

-- The last successful read of each source. `body` keeps a URL's content so a 304 can still be
-- merged with the sources that changed.
CREATE TABLE mapping_sources (
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    sha256 TEXT NOT NULL,
    records BIGINT NOT NULL,
    body BYTEA,
    checked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, location)
);

CREATE TABLE mapping_overrides (
    id UUID PRIMARY KEY,
    subject_platform SMALLINT NOT NULL,
    subject_id TEXT NOT NULL,
    -- {"link": {"platform": n, "id": "...", "season": n?, "episode_offset": n?}} |
    -- {"unlink": n} | {"title": "..."}
    change JSONB NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (subject_platform, subject_id, change)
);

-- One row: what the served data was built from, and its figures.
CREATE TABLE mapping_state (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    -- Hash of the source contents and overrides the served data was merged from.
    inputs_sha256 TEXT NOT NULL,
    -- [[platform, records], ...]
    counts JSONB NOT NULL,
    total_records BIGINT NOT NULL,
    last_run_id BIGINT,
    data_updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Cache keys a committed run made stale, written in the run's transaction and removed once
-- Redis has dropped them, so an outage between the commit and the invalidation cannot leave
-- stale entries behind.
CREATE TABLE mapping_cache_outbox (
    id BIGSERIAL PRIMARY KEY,
    record_ids BIGINT[] NOT NULL,
    platforms SMALLINT[] NOT NULL,
    keys TEXT[] NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
