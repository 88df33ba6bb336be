-- Indexes for attribute filters and for name and status alone.
--
-- attr_values copies every top-level key of resources.attrs, so that
-- filters on attrs.<key> are searched by an index instead of reading the JSON
-- of every resource. Like metadata, num holds a JSON number and str a JSON
-- string; other values (true, false, null, objects, arrays) get a row with
-- both NULL, so that the key's presence is indexed too. num has NUMERIC
-- affinity, not REAL: integers stay exact 64-bit integers (REAL would round
-- those beyond 2^53), so the index compares like json_extract does. Triggers
-- keep the table in step with resources.attrs; nested paths (attrs.a.b) still
-- read the JSON.
CREATE TABLE attr_values (
    resource_seq INTEGER NOT NULL REFERENCES resources (seq),
    key          TEXT    NOT NULL,
    num          NUMERIC,
    str          TEXT,
    PRIMARY KEY (resource_seq, key)
) WITHOUT ROWID;
CREATE INDEX attr_values_key_num ON attr_values (key, num, resource_seq) WHERE num IS NOT NULL;
CREATE INDEX attr_values_key_str ON attr_values (key, str, resource_seq) WHERE str IS NOT NULL;
CREATE INDEX attr_values_key_other ON attr_values (key, resource_seq) WHERE num IS NULL AND str IS NULL;

-- The rows of one attrs document: its top-level keys, the first occurrence of
-- a repeated key (the one json_extract finds). A document that is not a valid
-- JSON object (json_valid flags 10: JSON or JSON5 text, or a JSONB blob) has
-- none, instead of failing the write.
CREATE TRIGGER attr_values_insert AFTER INSERT ON resources WHEN new.attrs != '{}' BEGIN
    INSERT INTO attr_values (resource_seq, key, num, str)
    SELECT new.seq, key,
           CASE WHEN type IN ('integer', 'real') THEN atom END,
           CASE WHEN type = 'text' THEN atom END
    FROM (SELECT key, type, atom, min(id)
          FROM json_each(CASE WHEN NOT json_valid(new.attrs, 10) THEN '{}'
                              WHEN json_type(new.attrs) = 'object' THEN new.attrs ELSE '{}' END)
          GROUP BY key);
END;

CREATE TRIGGER attr_values_update AFTER UPDATE OF attrs ON resources WHEN old.attrs IS NOT new.attrs BEGIN
    DELETE FROM attr_values WHERE resource_seq = old.seq;
    INSERT INTO attr_values (resource_seq, key, num, str)
    SELECT new.seq, key,
           CASE WHEN type IN ('integer', 'real') THEN atom END,
           CASE WHEN type = 'text' THEN atom END
    FROM (SELECT key, type, atom, min(id)
          FROM json_each(CASE WHEN NOT json_valid(new.attrs, 10) THEN '{}'
                              WHEN json_type(new.attrs) = 'object' THEN new.attrs ELSE '{}' END)
          GROUP BY key);
END;

INSERT INTO attr_values (resource_seq, key, num, str)
SELECT seq, key,
       CASE WHEN type IN ('integer', 'real') THEN atom END,
       CASE WHEN type = 'text' THEN atom END
FROM (SELECT r.seq AS seq, j.key AS key, j.type AS type, j.atom AS atom, min(j.id)
      FROM resources r,
           json_each(CASE WHEN NOT json_valid(r.attrs, 10) THEN '{}'
                          WHEN json_type(r.attrs) = 'object' THEN r.attrs ELSE '{}' END) j
      WHERE r.attrs != '{}'
      GROUP BY r.seq, j.key);

-- name = 'x' and status = 'x' without a type scanned every resource.
CREATE INDEX resources_name ON resources (name);
CREATE INDEX resources_status_only ON resources (status);

INSERT INTO schema_applied (version, applied_at) VALUES (3, CAST(unixepoch('subsec') * 1000 AS INTEGER));
