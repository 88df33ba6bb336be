-- Metric time series: every point logged under a key on a resource (or on
-- a run), kept whole, NaN and infinities included.
--
-- metric_series holds one row per series with its summary, kept current on
-- every write: count, last step and value, lowest and highest value. These
-- columns are what the query language's metrics.<key> fields search, on the
-- indexes below. summary is the exact summary (series.Summary encoding: the
-- last, lowest and highest points with their steps and times, the step and
-- time ranges); last_value, min_value and max_value copy it as REAL, NULL
-- where the value is NaN or no point has a value other than NaN.
--
-- A series belongs to a resource (resource_seq) or to a run (owner_run_seq),
-- never both. Purging a resource removes its series (ON DELETE CASCADE, and
-- from the series to its points).
CREATE TABLE metric_series (
    seq           INTEGER PRIMARY KEY,
    resource_seq  INTEGER REFERENCES resources (seq) ON DELETE CASCADE,
    owner_run_seq INTEGER REFERENCES runs (seq) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    count         INTEGER NOT NULL,
    last_step     INTEGER NOT NULL,
    last_value    REAL,
    min_value     REAL,
    max_value     REAL,
    -- points held in metric_tail, not yet sealed into a block
    tail          INTEGER NOT NULL DEFAULT 0,
    summary       BLOB    NOT NULL,
    run_seq       INTEGER REFERENCES runs (seq),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CHECK ((resource_seq IS NULL) <> (owner_run_seq IS NULL))
);
CREATE UNIQUE INDEX metric_series_resource ON metric_series (resource_seq, key) WHERE resource_seq IS NOT NULL;
CREATE UNIQUE INDEX metric_series_run ON metric_series (owner_run_seq, key) WHERE owner_run_seq IS NOT NULL;
CREATE INDEX metric_series_last ON metric_series (key, last_value, resource_seq) WHERE resource_seq IS NOT NULL;
CREATE INDEX metric_series_min ON metric_series (key, min_value, resource_seq) WHERE resource_seq IS NOT NULL;
CREATE INDEX metric_series_max ON metric_series (key, max_value, resource_seq) WHERE resource_seq IS NOT NULL;
CREATE INDEX metric_series_count ON metric_series (key, count, resource_seq) WHERE resource_seq IS NOT NULL;
CREATE INDEX metric_series_step ON metric_series (key, last_step, resource_seq) WHERE resource_seq IS NOT NULL;

-- The newest points of a series, one row each, until there are enough of
-- them to seal into a block. ord numbers a series' points in the order they
-- were added (0, 1, ...); value holds the float64's bits.
CREATE TABLE metric_tail (
    series_seq INTEGER NOT NULL REFERENCES metric_series (seq) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,
    step       INTEGER NOT NULL,
    time       INTEGER NOT NULL,
    value      INTEGER NOT NULL,
    PRIMARY KEY (series_seq, ord)
) WITHOUT ROWID;

-- Sealed points: data is a compressed block of count points (see package
-- series: delta-of-delta steps and times, XOR values), first_ord the ord of
-- its first point; the ranges and summary let readers skip or summarise a
-- block without decoding it. Blocks are never rewritten.
CREATE TABLE metric_blocks (
    seq        INTEGER PRIMARY KEY,
    series_seq INTEGER NOT NULL REFERENCES metric_series (seq) ON DELETE CASCADE,
    first_ord  INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    min_step   INTEGER NOT NULL,
    max_step   INTEGER NOT NULL,
    min_time   INTEGER NOT NULL,
    max_time   INTEGER NOT NULL,
    summary    BLOB    NOT NULL,
    data       BLOB    NOT NULL
);
CREATE UNIQUE INDEX metric_blocks_series ON metric_blocks (series_seq, first_ord);

INSERT INTO schema_applied (version, applied_at) VALUES (5, CAST(unixepoch('subsec') * 1000 AS INTEGER));
