-- Version 4: findings. A row holds a finding's current state (canonical JSON); every change is
-- a `finding.*` ledger entry holding the whole new state, and finding_events points at them.
CREATE TABLE findings (
    id     INTEGER PRIMARY KEY,
    status TEXT    NOT NULL,
    state  TEXT    NOT NULL
) STRICT;

CREATE TABLE finding_events (
    seq        INTEGER PRIMARY KEY,   -- the ledger entry
    finding_id INTEGER NOT NULL REFERENCES findings (id)
) STRICT;
CREATE INDEX finding_events_by_finding ON finding_events (finding_id, seq);
