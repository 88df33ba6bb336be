DROP INDEX history_id;
ALTER TABLE history DROP COLUMN id;
DELETE FROM schema_applied WHERE version = 2;
