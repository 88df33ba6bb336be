-- What metatrack serve needs: its API tokens, the actor of each change, and
-- the idempotency keys of recent writes.
--
-- api_tokens holds only the SHA-256 (hex) of each token's secret: the
-- secret is printed once when the token is made. A revoked token keeps its
-- row (revoked_at set), so the actors of the changes it made stay named.
CREATE TABLE api_tokens (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL UNIQUE,
    role         TEXT    NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    secret_hash  TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);

-- The actor of a change made through a server: the name of the token that
-- made it (NULL for changes made through the library directly).
ALTER TABLE history ADD COLUMN actor TEXT;

-- A write that carried an idempotency key, with the response it got: a
-- retry with the same key gets that response and is not applied again. The
-- row commits in the write's own transaction. Rows older than a day are
-- removed as new ones come.
CREATE TABLE idempotency_keys (
    key        TEXT    PRIMARY KEY,
    actor      TEXT    NOT NULL DEFAULT '',
    op         TEXT    NOT NULL,
    response   BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

INSERT INTO schema_applied (version, applied_at) VALUES (6, CAST(unixepoch('subsec') * 1000 AS INTEGER));
