-- Version 3: history sized for years of hourly runs on thousands of hosts, and fully
-- determined by the ledger.
--
-- * targets keep a run counter and their latest run, so a run that changes nothing writes
--   one run row, one ledger row and one target update, whatever its number of results;
-- * an interval that every run of its target extends keeps NULL in last_seen, observations
--   and last_run: they are its target's (last_seen, runs - first_run_no + 1, last_run);
-- * a run's id is the sequence number of its `scan.run` ledger entry, whose payload is
--   rendered from the run row rather than stored twice;
-- * ledger rows keep the first 8 bytes of their hash (to name the first changed entry);
--   the head's full hash is in ledger_head; kinds are numbered in ledger_kinds (kind 1,
--   `scan.run`, takes no space in a row).

CREATE TABLE targets (
    id         INTEGER PRIMARY KEY,
    source     TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    runs       INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER,                    -- Unix seconds of its first run
    last_seen  INTEGER,                    -- Unix seconds of its latest run
    last_run   INTEGER,                    -- id of its latest run
    UNIQUE (source, name)
) STRICT;

CREATE TABLE series (
    id        INTEGER PRIMARY KEY,
    target_id INTEGER NOT NULL REFERENCES targets (id),
    check_id  TEXT    NOT NULL,
    resource  TEXT    NOT NULL,
    UNIQUE (target_id, check_id, resource)
) STRICT;

CREATE TABLE runs_v3 (
    id          INTEGER PRIMARY KEY,       -- sequence number of its scan.run ledger entry
    target_id   INTEGER NOT NULL REFERENCES targets (id),
    observed_at INTEGER NOT NULL,          -- Unix seconds
    max_gap     INTEGER NOT NULL,          -- seconds
    results     INTEGER NOT NULL,
    changed     INTEGER NOT NULL,
    gone        INTEGER NOT NULL
) STRICT;

CREATE TABLE intervals_v3 (
    id           INTEGER PRIMARY KEY,
    series_id    INTEGER NOT NULL REFERENCES series (id),
    status       TEXT    NOT NULL,
    severity     TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    first_seen   INTEGER NOT NULL,
    first_run_no INTEGER NOT NULL,         -- its target's run count at its first observation
    last_seen    INTEGER,                  -- NULL while extended by every run of its target
    observations INTEGER,
    last_run     INTEGER
) STRICT;

CREATE TABLE ledger_kinds (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
) STRICT;
INSERT INTO ledger_kinds (id, name) VALUES
    (1, 'scan.run'), (2, 'result.changed'), (3, 'result.gone'), (4, 'evidence.added'),
    (5, 'config.changed');

CREATE TABLE ledger_v3 (
    seq         INTEGER PRIMARY KEY,
    time        INTEGER NOT NULL,          -- Unix seconds
    kind_id     INTEGER NOT NULL,          -- ledger_kinds.id
    payload     TEXT,                      -- canonical JSON; NULL: rendered from runs row seq
    hash_prefix BLOB    NOT NULL           -- first 8 bytes of the entry's hash
) STRICT;

CREATE TABLE ledger_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
) STRICT;

-- Carry over a version 2 store. Its runs and ledger entries keep their stored payloads; its
-- history was folded by older rules, so `attest verify` cannot replay it (and says so).
INSERT INTO targets (source, name, runs, first_seen, last_seen, last_run)
    SELECT source, target, COUNT(*), MIN(observed_at), MAX(observed_at), MAX(id)
    FROM runs GROUP BY source, target;

INSERT INTO runs_v3 (id, target_id, observed_at, max_gap, results, changed, gone)
    SELECT r.id, t.id, r.observed_at, 0,
           (SELECT COUNT(*) FROM intervals i WHERE i.last_run = r.id), 0, 0
    FROM runs r JOIN targets t ON t.source = r.source AND t.name = r.target;

INSERT INTO series (target_id, check_id, resource)
    SELECT DISTINCT (SELECT MIN(t.id) FROM targets t WHERE t.name = i.target), i.check_id, i.resource
    FROM intervals i;

INSERT INTO intervals_v3 (id, series_id, status, severity, message, first_seen, first_run_no,
                          last_seen, observations, last_run)
    SELECT i.id, s.id, i.status, i.severity, i.message, i.first_seen,
           t.runs - i.observations + 1,
           CASE WHEN i.open = 1 AND i.last_run = t.last_run THEN NULL ELSE i.last_seen END,
           CASE WHEN i.open = 1 AND i.last_run = t.last_run THEN NULL ELSE i.observations END,
           CASE WHEN i.open = 1 AND i.last_run = t.last_run THEN NULL ELSE i.last_run END
    FROM intervals i
    JOIN targets t ON t.id = (SELECT MIN(t2.id) FROM targets t2 WHERE t2.name = i.target)
    JOIN series s ON s.target_id = t.id AND s.check_id = i.check_id AND s.resource = i.resource;

INSERT OR IGNORE INTO ledger_kinds (name) SELECT DISTINCT kind FROM ledger;
INSERT INTO ledger_v3 (seq, time, kind_id, payload, hash_prefix)
    SELECT l.seq, l.time, k.id, l.payload, substr(l.hash, 1, 8)
    FROM ledger l JOIN ledger_kinds k ON k.name = l.kind;

INSERT INTO ledger_head (id, seq, hash)
    SELECT 1, seq, hash FROM ledger ORDER BY seq DESC LIMIT 1;

DROP TABLE intervals;
DROP TABLE runs;
DROP TABLE ledger;
ALTER TABLE runs_v3 RENAME TO runs;
ALTER TABLE intervals_v3 RENAME TO intervals;
ALTER TABLE ledger_v3 RENAME TO ledger;

CREATE INDEX runs_by_target ON runs (target_id, observed_at);
CREATE INDEX intervals_by_series ON intervals (series_id, first_seen);
CREATE UNIQUE INDEX intervals_open ON intervals (series_id) WHERE last_seen IS NULL;
CREATE INDEX ledger_by_kind ON ledger (kind_id, seq) WHERE kind_id <> 1;
