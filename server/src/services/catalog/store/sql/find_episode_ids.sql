-- Episodes named by a JSON array of {idx, source_name, anime_source_id (or null), source_episode_id}
-- ($1): one row per match, so an index with two rows is ambiguous and one with none is missing.
SELECT r.idx, e.id
FROM jsonb_to_recordset($1) AS r(idx int, source_name text, anime_source_id text, source_episode_id text)
JOIN catalog_episodes e ON e.source_episode_id = r.source_episode_id
JOIN catalog_anime a ON a.id = e.anime_id AND a.source_name = r.source_name
                     AND (r.anime_source_id IS NULL OR a.source_id = r.anime_source_id)
