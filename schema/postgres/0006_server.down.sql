DELETE FROM schema_applied WHERE version = 6;
DROP INDEX idempotency_keys_created;
DROP TABLE idempotency_keys;
ALTER TABLE history DROP COLUMN actor;
DROP TABLE api_tokens;
