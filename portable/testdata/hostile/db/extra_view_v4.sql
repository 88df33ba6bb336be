-- A file of schema version 4 (aliases and deletion) with a view: never
-- migrated to 5.
-- version: 4
-- want: view spy
CREATE VIEW spy AS SELECT * FROM resources;
