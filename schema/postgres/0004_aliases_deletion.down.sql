DROP INDEX purged_chain;
DROP TABLE purged;
DROP INDEX aliases_name;
DROP INDEX aliases_version;
DROP TABLE aliases;
DROP INDEX resources_deleted;
ALTER TABLE resources DROP COLUMN deleted_at;
DELETE FROM schema_applied WHERE version = 4;
