-- A well-formed file: merges, and verify finds nothing.
-- want: ok
INSERT INTO tags (resource_seq, key, value, updated_at)
    SELECT seq, 'stage', 'prod', 1 FROM resources WHERE type = 'model';
