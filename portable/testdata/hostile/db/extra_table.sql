-- A table metatrack does not create.
-- want: table payload
CREATE TABLE payload (x BLOB);
INSERT INTO payload VALUES (zeroblob(1000));
