-- One of metatrack's indexes dropped.
-- want: index tags_key_value: is missing
DROP INDEX tags_key_value;
