-- A file of schema version 1 with a table of its own: never migrated.
-- version: 1
-- want: table payload
CREATE TABLE payload (x);
