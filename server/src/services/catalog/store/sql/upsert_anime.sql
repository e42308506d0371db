-- Upserts anime given as a JSON array of rows ($1). Fields an admin locked keep their value,
-- unset fields (NULL, 0, empty lists) keep what is stored, and a row whose import content hash
-- is unchanged is not written at all. Returns the rows created or changed.
INSERT INTO catalog_anime AS a (id, source_name, source_id, title, alternative_titles, description, year, status,
                                kind, poster, genres, episodes_total, content_hash)
SELECT r.id, r.source_name, r.source_id, r.title, r.alternative_titles, r.description, r.year, r.status, r.kind,
       r.poster, r.genres, r.episodes_total, decode(r.content_hash, 'hex')
FROM jsonb_to_recordset($1) AS r(id uuid, source_name text, source_id text, title text, alternative_titles text[],
                                 description text, year int, status smallint, kind smallint, poster text,
                                 genres text[], episodes_total int, content_hash text)
ON CONFLICT (source_name, source_id) DO UPDATE SET
    title = CASE WHEN 'title' = ANY (a.admin_locked) THEN a.title ELSE EXCLUDED.title END,
    alternative_titles = CASE WHEN 'alternative_titles' = ANY (a.admin_locked)
                                   OR cardinality(EXCLUDED.alternative_titles) = 0
                              THEN a.alternative_titles ELSE EXCLUDED.alternative_titles END,
    description = CASE WHEN 'description' = ANY (a.admin_locked) THEN a.description
                       ELSE coalesce(EXCLUDED.description, a.description) END,
    year = CASE WHEN 'year' = ANY (a.admin_locked) THEN a.year ELSE coalesce(EXCLUDED.year, a.year) END,
    status = CASE WHEN 'status' = ANY (a.admin_locked) OR EXCLUDED.status = 0 THEN a.status
                  ELSE EXCLUDED.status END,
    kind = CASE WHEN 'kind' = ANY (a.admin_locked) OR EXCLUDED.kind = 0 THEN a.kind ELSE EXCLUDED.kind END,
    poster = CASE WHEN 'poster' = ANY (a.admin_locked) THEN a.poster ELSE coalesce(EXCLUDED.poster, a.poster) END,
    genres = CASE WHEN 'genres' = ANY (a.admin_locked) OR cardinality(EXCLUDED.genres) = 0 THEN a.genres
                  ELSE EXCLUDED.genres END,
    episodes_total = CASE WHEN 'episodes_total' = ANY (a.admin_locked) THEN a.episodes_total
                          ELSE coalesce(EXCLUDED.episodes_total, a.episodes_total) END,
    content_hash = EXCLUDED.content_hash,
    updated_at = now()
WHERE a.content_hash <> EXCLUDED.content_hash
RETURNING a.id, a.source_name, a.source_id, (a.xmax = 0) AS created
