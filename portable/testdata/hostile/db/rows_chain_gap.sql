-- The schema is right, the rows break a rule: a chain numbered 1, 5.
-- want: missing version 2, 3, 4
UPDATE resources SET version = 5 WHERE type = 'dataset_version' AND version = 2;
