-- Indexes for attribute filters and for name and status alone.
--
-- attr_values copies every top-level key of resources.attrs, so that
-- filters on attrs.<key> are searched by an index instead of reading the JSON
-- of every resource. Like metadata, num holds a JSON number and str a JSON
-- string; other values (true, false, null, objects, arrays) get a row with
-- both NULL, so that the key's presence is indexed too. num is NUMERIC:
-- integers stay exact beyond 2^53 and compare with decimals exactly. A
-- trigger keeps the table in step with resources.attrs; nested paths
-- (attrs.a.b) still read the JSON.
CREATE TABLE attr_values (
    resource_seq BIGINT NOT NULL REFERENCES resources (seq),
    key          TEXT   NOT NULL,
    num          NUMERIC,
    str          TEXT,
    PRIMARY KEY (resource_seq, key)
);
CREATE INDEX attr_values_key_num ON attr_values (key, num, resource_seq) WHERE num IS NOT NULL;
CREATE INDEX attr_values_key_str ON attr_values (key, str, resource_seq) WHERE str IS NOT NULL;
CREATE INDEX attr_values_key_other ON attr_values (key, resource_seq) WHERE num IS NULL AND str IS NULL;

-- The rows of one attrs document: its top-level keys, the first occurrence
-- of a repeated key (as SQLite's attr_values holds; the json type keeps
-- every occurrence in order). A document that is not a JSON object has
-- none. The domain stores only valid JSON; text that is not JSON fails the
-- write (22P02) instead of going unindexed.
CREATE FUNCTION attr_values_sync() RETURNS trigger LANGUAGE plpgsql
-- The store's schema, whatever the search_path of the session writing.
SET search_path FROM CURRENT AS $$
DECLARE
    doc json;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM attr_values WHERE resource_seq = OLD.seq;
    END IF;
    doc := NEW.attrs::json;
    IF json_typeof(doc) <> 'object' THEN
        RETURN NULL;
    END IF;
    INSERT INTO attr_values (resource_seq, key, num, str)
    SELECT DISTINCT ON (e.key) NEW.seq, e.key,
           CASE WHEN json_typeof(e.value) = 'number' THEN (e.value #>> '{}')::numeric END,
           CASE WHEN json_typeof(e.value) = 'string' THEN e.value #>> '{}' END
    FROM json_each(doc) WITH ORDINALITY AS e (key, value, ord)
    ORDER BY e.key, e.ord;
    RETURN NULL;
END
$$;

CREATE TRIGGER attr_values_insert AFTER INSERT ON resources
    FOR EACH ROW WHEN (NEW.attrs <> '{}') EXECUTE FUNCTION attr_values_sync();
CREATE TRIGGER attr_values_update AFTER UPDATE OF attrs ON resources
    FOR EACH ROW WHEN (OLD.attrs IS DISTINCT FROM NEW.attrs) EXECUTE FUNCTION attr_values_sync();

INSERT INTO attr_values (resource_seq, key, num, str)
SELECT DISTINCT ON (r.seq, e.key) r.seq, e.key,
       CASE WHEN json_typeof(e.value) = 'number' THEN (e.value #>> '{}')::numeric END,
       CASE WHEN json_typeof(e.value) = 'string' THEN e.value #>> '{}' END
FROM resources r,
     json_each(CASE WHEN json_typeof(r.attrs::json) = 'object' THEN r.attrs::json ELSE '{}' END) WITH ORDINALITY AS e (key, value, ord)
WHERE r.attrs <> '{}'
ORDER BY r.seq, e.key, e.ord;

-- name = 'x' and status = 'x' without a type scanned every resource.
CREATE INDEX resources_name ON resources (name);
CREATE INDEX resources_status_only ON resources (status);

INSERT INTO schema_applied (version, applied_at) VALUES (3, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
