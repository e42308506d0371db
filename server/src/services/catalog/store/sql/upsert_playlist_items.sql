-- Upserts playlist items given as a JSON array of rows ($1), keyed by (playlist, kind, item
-- id); a row whose content hash matches writes nothing. Returns the item ids written.
INSERT INTO playlist_items AS i (playlist_id, kind, item_id, name, original_title, category_ids, icon,
                                 container_extension, rating, year, added, genres, actors, director, plot,
                                 epg_channel_id, tv_archive, sort_name, search_text, genre_keys, actor_keys,
                                 content_hash)
SELECT r.playlist_id, r.kind, r.item_id, r.name, r.original_title, r.category_ids, r.icon, r.container_extension,
       r.rating, r.year, r.added, r.genres, r.actors, r.director, r.plot, r.epg_channel_id, r.tv_archive,
       r.sort_name, r.search_text, r.genre_keys, r.actor_keys, decode(r.content_hash, 'hex')
FROM jsonb_to_recordset($1) AS r(playlist_id bigint, kind smallint, item_id text, name text, original_title text,
                                 category_ids text[], icon text, container_extension text, rating real, year int,
                                 added bigint, genres text[], actors text[], director text, plot text,
                                 epg_channel_id text, tv_archive boolean, sort_name text, search_text text,
                                 genre_keys text[], actor_keys text[], content_hash text)
ON CONFLICT (playlist_id, kind, item_id) DO UPDATE SET
    name = EXCLUDED.name,
    original_title = EXCLUDED.original_title,
    category_ids = EXCLUDED.category_ids,
    icon = EXCLUDED.icon,
    container_extension = EXCLUDED.container_extension,
    rating = EXCLUDED.rating,
    year = EXCLUDED.year,
    added = EXCLUDED.added,
    genres = EXCLUDED.genres,
    actors = EXCLUDED.actors,
    director = EXCLUDED.director,
    plot = EXCLUDED.plot,
    epg_channel_id = EXCLUDED.epg_channel_id,
    tv_archive = EXCLUDED.tv_archive,
    sort_name = EXCLUDED.sort_name,
    search_text = EXCLUDED.search_text,
    genre_keys = EXCLUDED.genre_keys,
    actor_keys = EXCLUDED.actor_keys,
    content_hash = EXCLUDED.content_hash
WHERE i.content_hash <> EXCLUDED.content_hash
RETURNING i.item_id
