-- Evidence records; their content lives in objects/ under its SHA-256.
CREATE TABLE evidence (
    id             INTEGER PRIMARY KEY,
    control_id     TEXT    NOT NULL,
    file_name      TEXT    NOT NULL,
    sha256         TEXT    NOT NULL,
    size           INTEGER NOT NULL,
    note           TEXT,
    effective_date TEXT    NOT NULL,  -- YYYY-MM-DD
    added_at       TEXT    NOT NULL,  -- RFC 3339
    added_by       TEXT    NOT NULL
) STRICT;
CREATE INDEX evidence_by_control ON evidence (control_id, effective_date);

-- One row per run of a source on a target.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    observed_at INTEGER NOT NULL      -- Unix seconds
) STRICT;
CREATE INDEX runs_by_target ON runs (source, target, id);

-- Result history as state intervals: a row opens when a status changes.
CREATE TABLE intervals (
    id           INTEGER PRIMARY KEY,
    target       TEXT    NOT NULL,
    check_id     TEXT    NOT NULL,
    resource     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    severity     TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    observations INTEGER NOT NULL,
    last_run     INTEGER NOT NULL REFERENCES runs (id),
    open         INTEGER NOT NULL     -- 1 for the latest interval of its key
) STRICT;
CREATE UNIQUE INDEX intervals_open ON intervals (target, check_id, resource) WHERE open = 1;
CREATE INDEX intervals_by_key ON intervals (target, check_id, resource, first_seen);
CREATE INDEX intervals_by_run ON intervals (last_run);
