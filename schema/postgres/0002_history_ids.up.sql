-- Give every change-log entry a globally unique id, so that exports,
-- imports and merges of two stores can recognise an entry they already hold.
-- Entries written before this migration get a random 128-bit id.
ALTER TABLE history ADD COLUMN id TEXT;
UPDATE history SET id = replace(gen_random_uuid()::text, '-', '') WHERE id IS NULL;
CREATE UNIQUE INDEX history_id ON history (id);

INSERT INTO schema_applied (version, applied_at) VALUES (2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
