-- CatalogService, anime part: anime, episodes, video sources (players) and the Kodik +
-- Shikimori importer's state. See server/src/services/catalog/mod.rs.

CREATE TABLE catalog_anime (
    id UUID PRIMARY KEY,
    source_name TEXT NOT NULL,
    source_id TEXT NOT NULL,
    title TEXT NOT NULL,
    alternative_titles TEXT[] NOT NULL DEFAULT '{}',
    description TEXT,
    year INTEGER,
    -- medley.v1.AnimeStatus / AnimeKind numbers; 0 = unknown.
    status SMALLINT NOT NULL DEFAULT 0,
    kind SMALLINT NOT NULL DEFAULT 0,
    poster TEXT,
    genres TEXT[] NOT NULL DEFAULT '{}',
    episodes_total INTEGER,
    -- Derived by catalog_anime_derive() from the values above, whichever path wrote them.
    genre_keys TEXT[] NOT NULL DEFAULT '{}',
    search_text TEXT NOT NULL DEFAULT '',
    -- Fields an admin edited (UpdateAnime): imports leave them alone.
    admin_locked TEXT[] NOT NULL DEFAULT '{}',
    -- SHA-256 of the last import's content: an identical import writes nothing.
    content_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source_name, source_id)
);
CREATE INDEX catalog_anime_search ON catalog_anime USING gin (search_text gin_trgm_ops);
CREATE INDEX catalog_anime_genre_keys ON catalog_anime USING gin (genre_keys);
CREATE INDEX catalog_anime_by_title ON catalog_anime (title, id);
CREATE INDEX catalog_anime_by_updated ON catalog_anime (updated_at, id);
CREATE INDEX catalog_anime_by_year ON catalog_anime (year, id);

-- Case-insensitive genre keys and the searchable text follow the stored values, so imports,
-- admin edits and any later path agree.
CREATE FUNCTION catalog_anime_derive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.genre_keys := ARRAY(SELECT DISTINCT lower(g) FROM unnest(NEW.genres) AS g);
    NEW.search_text := lower(concat_ws(' ', NEW.title, array_to_string(NEW.alternative_titles, ' ')));
    RETURN NEW;
END
$$;
CREATE TRIGGER catalog_anime_derive BEFORE INSERT OR UPDATE OF title, alternative_titles, genres
    ON catalog_anime FOR EACH ROW EXECUTE FUNCTION catalog_anime_derive();

CREATE TABLE catalog_episodes (
    id UUID PRIMARY KEY,
    anime_id UUID NOT NULL REFERENCES catalog_anime (id) ON DELETE CASCADE,
    source_episode_id TEXT NOT NULL,
    season INTEGER NOT NULL DEFAULT 1,
    number INTEGER NOT NULL,
    title TEXT,
    is_available BOOLEAN NOT NULL,
    content_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (anime_id, source_episode_id)
);
CREATE INDEX catalog_episodes_in_order ON catalog_episodes (anime_id, season, number, id);
-- Players may name their episode by source id alone (ImportVideo without anime_source_id).
CREATE INDEX catalog_episodes_by_source_id ON catalog_episodes (source_episode_id);

-- One player of one episode. The unique key is what makes re-imports idempotent (the reference
-- backend had none and duplicated rows under concurrency).
CREATE TABLE catalog_videos (
    id UUID PRIMARY KEY,
    episode_id UUID NOT NULL REFERENCES catalog_episodes (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    url TEXT NOT NULL,
    -- medley.v1.PlayerType number.
    player_type SMALLINT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    quality TEXT,
    translation_id TEXT NOT NULL DEFAULT '',
    translation_title TEXT NOT NULL DEFAULT '',
    -- medley.v1.TranslationType number; 0 = unknown.
    translation_type SMALLINT NOT NULL DEFAULT 0,
    content_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (episode_id, provider, url)
);

-- Per importer source: the updated_at of the newest release seen by the last complete run.
CREATE TABLE catalog_import_state (
    source TEXT PRIMARY KEY,
    watermark TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Hash of each upstream release as last imported: unchanged releases are not fetched again.
CREATE TABLE catalog_import_releases (
    source TEXT NOT NULL,
    release_id TEXT NOT NULL,
    content_hash BYTEA NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source, release_id)
);

-- Counters and position of an import run (a job of kind catalog-import). Written in the same
-- transaction as each imported page, so a crashed run resumes exactly after its last page.
CREATE TABLE catalog_import_runs (
    job_id BIGINT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    -- medley.v1.ImportMode number.
    mode SMALLINT NOT NULL,
    max_pages INTEGER NOT NULL DEFAULT 0,
    -- Kodik's `next` cursor of the page to read next; NULL before the first page.
    cursor TEXT,
    -- The watermark this (incremental) run stops at.
    since TIMESTAMPTZ,
    -- Newest updated_at seen by this run.
    high_water TIMESTAMPTZ,
    listing_done BOOLEAN NOT NULL DEFAULT false,
    pages INTEGER NOT NULL DEFAULT 0,
    releases_seen INTEGER NOT NULL DEFAULT 0,
    anime_seen INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0,
    -- The latest failures and skips: [{"source_id", "reason"}], at most 50.
    failures JSONB NOT NULL DEFAULT '[]',
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
