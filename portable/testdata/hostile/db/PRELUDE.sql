-- The rows every recipe starts from (written into the file after its
-- migrations, before the recipe): a run, a dataset with two versions, a
-- model with a version and its experiment, ten more datasets, the edges.
INSERT INTO runs (seq, id, name, status, started_at, ended_at) VALUES
    (1, '01930000-0000-7000-8000-000000000001', 'prelude', 'FINISHED', 1, 2);
INSERT INTO resources (seq, id, type, name, version, parent_seq, status, run_seq, created_at, updated_at) VALUES
    (1, '01930000-0000-7000-8000-000000000101', 'dataset', 'iris', NULL, NULL, '', 1, 1, 1),
    (2, '01930000-0000-7000-8000-000000000102', 'dataset_version', 'iris', 1, 1, '', 1, 2, 2),
    (3, '01930000-0000-7000-8000-000000000103', 'dataset_version', 'iris', 2, 1, '', 1, 3, 3),
    (4, '01930000-0000-7000-8000-000000000104', 'model', 'm', NULL, NULL, '', 1, 4, 4),
    (5, '01930000-0000-7000-8000-000000000105', 'model_version', 'm', 1, 4, 'REGISTERED', 1, 5, 5),
    (6, '01930000-0000-7000-8000-000000000106', 'experiment', 'trial', NULL, 5, 'FINISHED', 1, 6, 6);
INSERT INTO edges (src_seq, dst_seq, relation, run_seq, created_at) VALUES
    (1, 2, 'version', 1, 2), (1, 3, 'version', 1, 3), (4, 5, 'version', 1, 5), (5, 6, 'child', 1, 6), (3, 5, 'input', 1, 7);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
INSERT INTO resources (id, type, name, status, run_seq, created_at, updated_at)
    SELECT printf('01930000-0000-7000-8000-%012d', 200 + i), 'dataset', 'extra_' || i, 'NEW', 1, 10 + i, 10 + i FROM n;
