DROP TABLE metric_blocks;
DROP TABLE metric_tail;
DROP TABLE metric_series;
DELETE FROM schema_applied WHERE version = 5;
