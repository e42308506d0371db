-- One export page: records after id $1, optionally only those with a key on platform $2, in id
-- order, $3 rows.
SELECT r.id, r.body
FROM mapping_records r
WHERE r.id > $1
  AND ($2::smallint IS NULL
       OR EXISTS (SELECT 1 FROM mapping_keys k WHERE k.record_id = r.id AND k.platform = $2))
ORDER BY r.id
LIMIT $3
