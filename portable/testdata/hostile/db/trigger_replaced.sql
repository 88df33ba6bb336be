-- One of metatrack's own triggers, under its own name, with another body.
-- want: trigger attr_values_insert
DROP TRIGGER attr_values_insert;
CREATE TRIGGER attr_values_insert AFTER INSERT ON resources BEGIN UPDATE resources SET status = 'PWNED'; END;
