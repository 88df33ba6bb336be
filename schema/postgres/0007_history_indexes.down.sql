DELETE FROM schema_applied WHERE version = 7;
DROP INDEX history_rare;
DROP INDEX history_removed;
DROP INDEX history_resource_at;
CREATE INDEX history_resource ON history (resource_seq, kind, key, seq);
CREATE INDEX history_at ON history (at);
