DROP INDEX resources_status_only;
DROP INDEX resources_name;
DROP TRIGGER attr_values_update ON resources;
DROP TRIGGER attr_values_insert ON resources;
DROP FUNCTION attr_values_sync();
DROP TABLE attr_values;
DELETE FROM schema_applied WHERE version = 3;
