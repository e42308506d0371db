-- Ids and content hashes of players named by a JSON array of {episode_id, provider, url} ($1).
SELECT v.id, v.episode_id, v.provider, v.url, v.content_hash
FROM jsonb_to_recordset($1) AS r(episode_id uuid, provider text, url text)
JOIN catalog_videos v ON v.episode_id = r.episode_id AND v.provider = r.provider AND v.url = r.url
