-- An index metatrack does not create.
-- want: index resources_evil
CREATE INDEX resources_evil ON resources (status, name);
