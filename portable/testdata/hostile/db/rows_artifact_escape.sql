-- An artifact whose stored name climbs out of any directory.
-- want: relative path
INSERT INTO artifacts (id, resource_seq, name, kind, size, uri, created_at)
    SELECT '01930000-0000-7000-8000-0000000000a1', seq, '../../../../tmp/escape.txt', 'artifact', 1, 's3://b/k', 1
    FROM resources WHERE type = 'dataset' AND name = 'iris';
