-- Ids and content hashes of the anime named by a JSON array of {source_name, source_id} ($1).
SELECT a.id, a.source_name, a.source_id, a.content_hash
FROM jsonb_to_recordset($1) AS r(source_name text, source_id text)
JOIN catalog_anime a ON a.source_name = r.source_name AND a.source_id = r.source_id
