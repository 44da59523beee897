-- Version 1: the schema of the SQLite store (its version 4) in PostgreSQL, plus the evidence
-- objects, which live in the database so that app servers keep no files of their own.
--
-- * targets keep a run counter and their latest run, so a run that changes nothing writes
--   one run row, one ledger row and one target update, whatever its number of results;
-- * an interval that every run of its target extends keeps NULL in last_seen, observations
--   and last_run: they are its target's (last_seen, runs - first_run_no + 1, last_run);
-- * a run's id is the sequence number of its `scan.run` ledger entry, whose payload is
--   rendered from the run row rather than stored twice;
-- * ledger rows keep the first 8 bytes of their hash (to name the first changed entry);
--   the head's full hash is in ledger_head, whose single row every writer locks, so writers
--   on any number of servers append to one chain; kinds are numbered in ledger_kinds (kind
--   1, `scan.run`, takes no space in a row).
--
-- Ids are assigned by the writer holding the ledger_head lock (the next after the largest),
-- so they are dense and never taken by a rolled-back write.

CREATE TABLE objects (
    address TEXT  PRIMARY KEY,          -- SHA-256 of content, lowercase hex
    content BYTEA NOT NULL
);

CREATE TABLE evidence (
    id             BIGINT PRIMARY KEY,
    control_id     TEXT   NOT NULL,
    file_name      TEXT   NOT NULL,
    sha256         TEXT   NOT NULL,
    size           BIGINT NOT NULL,
    note           TEXT,
    effective_date TEXT   NOT NULL,     -- YYYY-MM-DD
    added_at       TEXT   NOT NULL,     -- RFC 3339
    added_by       TEXT   NOT NULL
);
CREATE INDEX evidence_by_control ON evidence (control_id, effective_date);

-- Updated by every run: room on each page for the new row versions (heap-only updates).
CREATE TABLE targets (
    id         BIGINT PRIMARY KEY,
    source     TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    runs       BIGINT NOT NULL DEFAULT 0,
    first_seen BIGINT,                  -- Unix seconds of its first run
    last_seen  BIGINT,                  -- Unix seconds of its latest run
    last_run   BIGINT,                  -- id of its latest run
    UNIQUE (source, name)
) WITH (fillfactor = 50);

CREATE TABLE series (
    id        BIGINT PRIMARY KEY,
    target_id BIGINT NOT NULL REFERENCES targets (id),
    check_id  TEXT   NOT NULL,
    resource  TEXT   NOT NULL,
    UNIQUE (target_id, check_id, resource)
);

CREATE TABLE runs (
    id          BIGINT PRIMARY KEY,     -- sequence number of its scan.run ledger entry
    target_id   BIGINT NOT NULL REFERENCES targets (id),
    observed_at BIGINT NOT NULL,        -- Unix seconds
    max_gap     BIGINT NOT NULL,        -- seconds
    results     BIGINT NOT NULL,
    changed     BIGINT NOT NULL,
    gone        BIGINT NOT NULL
);
CREATE INDEX runs_by_target ON runs (target_id, observed_at);

CREATE TABLE intervals (
    id           BIGINT PRIMARY KEY,
    series_id    BIGINT NOT NULL REFERENCES series (id),
    status       TEXT   NOT NULL,
    severity     TEXT   NOT NULL,
    message      TEXT   NOT NULL,
    first_seen   BIGINT NOT NULL,
    first_run_no BIGINT NOT NULL,       -- its target's run count at its first observation
    last_seen    BIGINT,                -- NULL while extended by every run of its target
    observations BIGINT,
    last_run     BIGINT
);
CREATE INDEX intervals_by_series ON intervals (series_id, first_seen);
CREATE UNIQUE INDEX intervals_open ON intervals (series_id) WHERE last_seen IS NULL;

CREATE TABLE ledger_kinds (
    id   BIGINT PRIMARY KEY,
    name TEXT   NOT NULL UNIQUE
);
INSERT INTO ledger_kinds (id, name) VALUES
    (1, 'scan.run'), (2, 'result.changed'), (3, 'result.gone'), (4, 'evidence.added'),
    (5, 'config.changed');

CREATE TABLE ledger (
    seq         BIGINT PRIMARY KEY,
    time        BIGINT NOT NULL,        -- Unix seconds
    kind_id     BIGINT NOT NULL,        -- ledger_kinds.id
    payload     TEXT,                   -- canonical JSON; NULL: rendered from runs row seq
    hash_prefix BYTEA  NOT NULL         -- first 8 bytes of the entry's hash
);
CREATE INDEX ledger_by_kind ON ledger (kind_id, seq) WHERE kind_id <> 1;

-- The head of the ledger: sequence number 0 and the genesis hash until the first entry.
CREATE TABLE ledger_head (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT   NOT NULL,
    hash BYTEA    NOT NULL
);
INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- Signed heads of the ledger.
CREATE TABLE checkpoints (
    seq       BIGINT PRIMARY KEY,
    head      BYTEA  NOT NULL,
    time      BIGINT NOT NULL,
    signature BYTEA  NOT NULL
);

-- A row holds a finding's current state (canonical JSON); every change is a `finding.*`
-- ledger entry holding the whole new state, and finding_events points at them.
CREATE TABLE findings (
    id     BIGINT PRIMARY KEY,
    status TEXT   NOT NULL,
    state  TEXT   NOT NULL
);

CREATE TABLE finding_events (
    seq        BIGINT PRIMARY KEY,      -- the ledger entry
    finding_id BIGINT NOT NULL REFERENCES findings (id)
);
CREATE INDEX finding_events_by_finding ON finding_events (finding_id, seq);
