-- Ids and content hashes of episodes named by a JSON array of {anime_id, source_episode_id} ($1).
SELECT e.id, e.anime_id, e.source_episode_id, e.content_hash
FROM jsonb_to_recordset($1) AS r(anime_id uuid, source_episode_id text)
JOIN catalog_episodes e ON e.anime_id = r.anime_id AND e.source_episode_id = r.source_episode_id
