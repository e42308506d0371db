-- Records whose titles match $1 (normalized words), best first: each record scores by its best
-- title (mean of word and whole-string trigram similarity). $2 media type, $3 year (NULL: any),
-- $4 rows, $5/$6 the (score, id) the previous page ended at (NULL: first page).
SELECT r.id, r.body, best.title, best.score
FROM (
    SELECT DISTINCT ON (t.record_id) t.record_id, t.title,
           ((word_similarity($1, t.normalized) + similarity($1, t.normalized)) / 2)::real AS score
    FROM mapping_titles t
    WHERE $1 <% t.normalized
    ORDER BY t.record_id, score DESC
) best
JOIN mapping_records r ON r.id = best.record_id
WHERE ($2::smallint IS NULL OR r.media_type = $2)
  AND ($3::int IS NULL OR r.year = $3)
  AND ($5::real IS NULL OR best.score < $5 OR (best.score = $5 AND r.id > $6))
ORDER BY best.score DESC, r.id
LIMIT $4
