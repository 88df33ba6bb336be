-- One of metatrack's indexes under its own name on other columns.
-- want: index resources_name
DROP INDEX resources_name;
CREATE INDEX resources_name ON resources (name, status);
