-- The first metatrack schema: runs, typed resources with version chains,
-- tags, typed metadata, version-control records, content-addressed artifacts,
-- lineage edges, deployments and the change log.
--
-- Internal keys are INTEGER rowids (fast joins, small indexes); every record a
-- user sees or that crosses files has a globally unique, time-sortable text id
-- (UUIDv7), so two files can be merged without collisions. Times are UTC
-- milliseconds since the Unix epoch.

-- schema_applied is written by every migration inside its own transaction, so
-- that after a crash the opener can tell whether a migration that
-- golang-migrate marked dirty was applied or not, and repair without help.
CREATE TABLE schema_applied (
    version    INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL
);

CREATE TABLE runs (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    host       TEXT    NOT NULL DEFAULT '',
    username   TEXT    NOT NULL DEFAULT '',
    pid        INTEGER NOT NULL DEFAULT 0,
    status     TEXT    NOT NULL,
    error      TEXT    NOT NULL DEFAULT '',
    started_at INTEGER NOT NULL,
    ended_at   INTEGER
);
CREATE INDEX runs_status ON runs (status, seq);

CREATE TABLE resources (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    type       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    -- version is set on chain members (dataset_version, model_version, any
    -- <kind>_version) and NULL elsewhere.
    version    INTEGER,
    parent_seq INTEGER REFERENCES resources (seq),
    status     TEXT    NOT NULL DEFAULT '',
    attrs      TEXT    NOT NULL DEFAULT '{}',
    run_seq    INTEGER REFERENCES runs (seq),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at   INTEGER,
    CHECK (version IS NULL OR version > 0)
);
-- One number per chain member; also the index for "latest" and "previous".
CREATE UNIQUE INDEX resources_chain ON resources (type, name, version) WHERE version IS NOT NULL;
-- Names are unique among roots of a type (dataset "titanic") and among the
-- children of one parent (experiments of a model version).
CREATE UNIQUE INDEX resources_root_name ON resources (type, name) WHERE parent_seq IS NULL;
CREATE UNIQUE INDEX resources_child_name ON resources (parent_seq, type, name) WHERE parent_seq IS NOT NULL AND version IS NULL;
CREATE INDEX resources_type_name ON resources (type, name, seq);
CREATE INDEX resources_parent ON resources (parent_seq, type, seq);
CREATE INDEX resources_status ON resources (type, status, seq);
CREATE INDEX resources_run ON resources (run_seq);
CREATE INDEX resources_created ON resources (created_at);

CREATE TABLE tags (
    resource_seq INTEGER NOT NULL REFERENCES resources (seq),
    key          TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    run_seq      INTEGER REFERENCES runs (seq),
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (resource_seq, key)
) WITHOUT ROWID;
CREATE INDEX tags_key_value ON tags (key, value, resource_seq);

-- Metadata values are JSON documents. num and str copy a top-level number or
-- string so that filters on them are indexed; nested paths use json_extract.
CREATE TABLE metadata (
    resource_seq INTEGER NOT NULL REFERENCES resources (seq),
    key          TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    num          REAL,
    str          TEXT,
    run_seq      INTEGER REFERENCES runs (seq),
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (resource_seq, key)
) WITHOUT ROWID;
CREATE INDEX metadata_key_num ON metadata (key, num, resource_seq) WHERE num IS NOT NULL;
CREATE INDEX metadata_key_str ON metadata (key, str, resource_seq) WHERE str IS NOT NULL;

-- Version-control records (register_vc_resource): info is the whole dict the
-- version-control component returned, extra the additional metadata.
CREATE TABLE vc_info (
    resource_seq INTEGER NOT NULL REFERENCES resources (seq),
    key          TEXT    NOT NULL,
    info         TEXT    NOT NULL,
    extra        TEXT    NOT NULL DEFAULT '{}',
    run_seq      INTEGER REFERENCES runs (seq),
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (resource_seq, key)
) WITHOUT ROWID;

-- Artifact bytes, content-addressed. A blob is written in chunks over several
-- transactions while sha256 is NULL (staging); it becomes visible only when a
-- final transaction sets its hash and records the artifact.
CREATE TABLE blobs (
    seq        INTEGER PRIMARY KEY,
    sha256     TEXT UNIQUE,
    size       INTEGER NOT NULL DEFAULT 0,
    chunk_size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE blob_chunks (
    blob_seq INTEGER NOT NULL REFERENCES blobs (seq) ON DELETE CASCADE,
    idx      INTEGER NOT NULL,
    data     BLOB    NOT NULL,
    PRIMARY KEY (blob_seq, idx)
);

CREATE TABLE artifacts (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    resource_seq INTEGER NOT NULL REFERENCES resources (seq),
    name         TEXT    NOT NULL,
    -- kind is artifact, data_profile, checks or data_comparison.
    kind         TEXT    NOT NULL,
    check_type   TEXT    NOT NULL DEFAULT '',
    media_type   TEXT    NOT NULL DEFAULT '',
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL DEFAULT '',
    blob_seq     INTEGER REFERENCES blobs (seq),
    uri          TEXT    NOT NULL DEFAULT '',
    source_path  TEXT    NOT NULL DEFAULT '',
    run_seq      INTEGER REFERENCES runs (seq),
    created_at   INTEGER NOT NULL,
    UNIQUE (resource_seq, name)
);
CREATE INDEX artifacts_kind ON artifacts (resource_seq, kind, seq);
CREATE INDEX artifacts_blob ON artifacts (blob_seq);

-- Lineage: data and control flow from src to dst. Walkable both ways on an
-- index: the primary key leads with src, edges_dst with dst.
CREATE TABLE edges (
    src_seq    INTEGER NOT NULL REFERENCES resources (seq),
    dst_seq    INTEGER NOT NULL REFERENCES resources (seq),
    relation   TEXT    NOT NULL,
    run_seq    INTEGER REFERENCES runs (seq),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (src_seq, relation, dst_seq)
) WITHOUT ROWID;
CREATE INDEX edges_dst ON edges (dst_seq, relation, src_seq);
-- A model version has at most one winning experiment.
CREATE UNIQUE INDEX edges_one_winner ON edges (src_seq) WHERE relation = 'winning_experiment';

-- Deployment intervals: a model version is the deployed one for its model in
-- an environment from deployed_at until undeployed_at (NULL while current).
CREATE TABLE deployments (
    seq               INTEGER PRIMARY KEY,
    id                TEXT    NOT NULL UNIQUE,
    model_seq         INTEGER NOT NULL REFERENCES resources (seq),
    model_version_seq INTEGER NOT NULL REFERENCES resources (seq),
    environment       TEXT    NOT NULL,
    deployed_at       INTEGER NOT NULL,
    undeployed_at     INTEGER,
    run_seq           INTEGER REFERENCES runs (seq)
);
CREATE UNIQUE INDEX deployments_current ON deployments (model_seq, environment) WHERE undeployed_at IS NULL;
CREATE INDEX deployments_model ON deployments (model_seq, environment, deployed_at);
CREATE INDEX deployments_version ON deployments (model_version_seq);

-- The change log: one row for every change to a resource, a tag, a metadata
-- value, a status, an artifact, a vc record, an edge or a deployment.
-- old_value and new_value are JSON (NULL when absent).
CREATE TABLE history (
    seq          INTEGER PRIMARY KEY,
    resource_seq INTEGER NOT NULL REFERENCES resources (seq),
    at           INTEGER NOT NULL,
    run_seq      INTEGER REFERENCES runs (seq),
    kind         TEXT    NOT NULL,
    key          TEXT    NOT NULL DEFAULT '',
    old_value    TEXT,
    new_value    TEXT
);
CREATE INDEX history_resource ON history (resource_seq, kind, key, seq);
CREATE INDEX history_at ON history (at);

INSERT INTO schema_applied (version, applied_at) VALUES (1, CAST(unixepoch('subsec') * 1000 AS INTEGER));
