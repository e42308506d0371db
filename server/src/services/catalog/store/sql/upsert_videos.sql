-- Upserts players given as a JSON array of rows ($1), keyed by (episode, provider, url);
-- unchanged content writes nothing. Returns the rows created or changed.
INSERT INTO catalog_videos AS v (id, episode_id, provider, url, player_type, priority, quality, translation_id,
                                 translation_title, translation_type, content_hash)
SELECT r.id, r.episode_id, r.provider, r.url, r.player_type, r.priority, r.quality, r.translation_id,
       r.translation_title, r.translation_type, decode(r.content_hash, 'hex')
FROM jsonb_to_recordset($1) AS r(id uuid, episode_id uuid, provider text, url text, player_type smallint,
                                 priority int, quality text, translation_id text, translation_title text,
                                 translation_type smallint, content_hash text)
ON CONFLICT (episode_id, provider, url) DO UPDATE SET
    player_type = EXCLUDED.player_type,
    priority = EXCLUDED.priority,
    quality = coalesce(EXCLUDED.quality, v.quality),
    translation_id = EXCLUDED.translation_id,
    translation_title = EXCLUDED.translation_title,
    translation_type = EXCLUDED.translation_type,
    content_hash = EXCLUDED.content_hash,
    updated_at = now()
WHERE v.content_hash <> EXCLUDED.content_hash
RETURNING v.id, v.episode_id, v.provider, v.url, (v.xmax = 0) AS created
