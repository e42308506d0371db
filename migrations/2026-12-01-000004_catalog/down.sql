DROP TABLE catalog_import_runs;
DROP TABLE catalog_import_releases;
DROP TABLE catalog_import_state;
DROP TABLE catalog_videos;
DROP TABLE catalog_episodes;
DROP TABLE catalog_anime;
DROP FUNCTION catalog_anime_derive();
