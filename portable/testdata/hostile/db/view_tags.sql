-- The tags table replaced by a view: a cross join that fabricates a tag
-- for every pair of resources. Reading it would import made-up rows.
-- want: view tags
DROP TABLE tags;
CREATE VIEW tags AS SELECT a.seq AS resource_seq, 'k' || b.seq AS key, 'fabricated' AS value,
    NULL AS run_seq, 1 AS updated_at FROM resources a, resources b;
