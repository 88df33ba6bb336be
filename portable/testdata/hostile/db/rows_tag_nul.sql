-- A tag value with a NUL byte, and one over the limit.
-- want: NUL
INSERT INTO tags (resource_seq, key, value, updated_at)
    SELECT seq, 'k', 'a' || char(0) || 'b', 1 FROM resources WHERE type = 'dataset' AND name = 'iris';
