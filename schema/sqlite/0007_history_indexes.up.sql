-- The change log's indexes, chosen by what reads it and what writing it
-- costs. Every LogTag and LogMetadata appends a row, so each index is paid
-- for on the write path, and an index whose new entries fall in many
-- places rewrites many pages per commit.
--
-- history_resource (resource_seq, kind, key, seq) put each new change
-- beside the earlier changes of its key: a batch of 1,000 tags over 100
-- keys of 10 resources changed about 1,000 of its pages. Ordered by time
-- within the resource instead, the changes of a commit are the newest of
-- their resource and land on its last page. It serves a resource's
-- history up to a time, the lookup of one change (import, merge) and a
-- purge; the rowid (seq) is the last column of every entry.
--
-- The reads that need the changes of one key, or of a rare kind, read two
-- partial indexes holding few rows: history_removed, the removals (a
-- deleted tag, metadata value or alias), and history_rare, every kind but
-- the two that grow with each logged value (the alias moves, deletions and
-- restores). A statement that reads history_rare says kind NOT IN ('tag',
-- 'metadata') word for word: SQLite uses a partial index only for a
-- statement that states its condition.
--
-- history_at (at) had no reader a resource index does not serve better.
DROP INDEX history_at;
DROP INDEX history_resource;
CREATE INDEX history_resource_at ON history (resource_seq, at, kind, key);
CREATE INDEX history_removed ON history (resource_seq, kind, key, at) WHERE new_value IS NULL;
CREATE INDEX history_rare ON history (resource_seq, kind, key, at) WHERE kind NOT IN ('tag', 'metadata');

INSERT INTO schema_applied (version, applied_at) VALUES (7, CAST(unixepoch('subsec') * 1000 AS INTEGER));
