DROP TABLE playlist_favorites;
DROP TABLE playlist_sync_runs;
DROP TABLE playlist_episodes;
DROP TABLE playlist_items;
DROP TABLE playlist_categories;
DROP TABLE playlists;
