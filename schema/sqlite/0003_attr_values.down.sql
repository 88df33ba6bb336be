DROP INDEX resources_status_only;
DROP INDEX resources_name;
DROP TRIGGER attr_values_update;
DROP TRIGGER attr_values_insert;
DROP TABLE attr_values;
DELETE FROM schema_applied WHERE version = 3;
