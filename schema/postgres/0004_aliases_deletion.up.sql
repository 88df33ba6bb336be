-- Aliases of chain members and deletion with restore.
--
-- deleted_at marks a resource deleted (UTC milliseconds): it is hidden from
-- lookups, listings, searches and lineage until it is restored or purged. A
-- resource deleted with its parent carries the parent's deleted_at, so that
-- restoring the parent brings back exactly what its deletion took.
ALTER TABLE resources ADD COLUMN deleted_at BIGINT;
CREATE INDEX resources_deleted ON resources (seq) WHERE deleted_at IS NOT NULL;

-- An alias is a named, movable pointer from a chain head (a model) to one
-- of its versions: model/titanic_model's "champion" is version 3. Names are
-- unique per head. Every move is in the head's history (kind "alias").
CREATE TABLE aliases (
    head_seq    BIGINT NOT NULL REFERENCES resources (seq),
    name        TEXT   NOT NULL,
    version_seq BIGINT NOT NULL REFERENCES resources (seq),
    run_seq     BIGINT REFERENCES runs (seq),
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (head_seq, name)
);
CREATE INDEX aliases_version ON aliases (version_seq, name);
CREATE INDEX aliases_name ON aliases (name, version_seq);

-- What gc --purge-deleted removed for good: one row per resource, so that
-- the store still says what was there, when it was deleted and purged, and
-- so that a chain never hands out a purged version number again.
CREATE TABLE purged (
    id         TEXT   PRIMARY KEY,
    type       TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    version    BIGINT,
    parent_id  TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL,
    purged_at  BIGINT NOT NULL,
    run_seq    BIGINT REFERENCES runs (seq)
);
CREATE INDEX purged_chain ON purged (type, name, version) WHERE version IS NOT NULL;

INSERT INTO schema_applied (version, applied_at) VALUES (4, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
