-- A view beside the tables.
-- want: view everything
CREATE VIEW everything AS SELECT * FROM resources, tags;
