-- Upserts episodes given as a JSON array of rows ($1); unchanged content writes nothing, an
-- unset title keeps the stored one. Returns the rows created or changed.
INSERT INTO catalog_episodes AS e (id, anime_id, source_episode_id, season, number, title, is_available,
                                   content_hash)
SELECT r.id, r.anime_id, r.source_episode_id, r.season, r.number, r.title, r.is_available,
       decode(r.content_hash, 'hex')
FROM jsonb_to_recordset($1) AS r(id uuid, anime_id uuid, source_episode_id text, season int, number int,
                                 title text, is_available boolean, content_hash text)
ON CONFLICT (anime_id, source_episode_id) DO UPDATE SET
    season = EXCLUDED.season,
    number = EXCLUDED.number,
    title = coalesce(EXCLUDED.title, e.title),
    is_available = EXCLUDED.is_available,
    content_hash = EXCLUDED.content_hash,
    updated_at = now()
WHERE e.content_hash <> EXCLUDED.content_hash
RETURNING e.id, e.anime_id, e.source_episode_id, (e.xmax = 0) AS created
