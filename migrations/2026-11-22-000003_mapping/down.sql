DROP TABLE mapping_cache_outbox;
DROP TABLE mapping_state;
DROP TABLE mapping_overrides;
DROP TABLE mapping_sources;
DROP TABLE mapping_titles;
DROP TABLE mapping_keys;
DROP TABLE mapping_records;
DROP SEQUENCE mapping_record_ids;
DROP EXTENSION IF EXISTS pg_trgm;
