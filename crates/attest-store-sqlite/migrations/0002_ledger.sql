-- The evidence ledger: every write appends entries in the same transaction.
CREATE TABLE ledger (
    seq            INTEGER PRIMARY KEY,
    time           INTEGER NOT NULL,   -- Unix seconds
    kind           TEXT    NOT NULL,
    payload        TEXT    NOT NULL,   -- canonical JSON (sorted keys, no spaces)
    payload_sha256 BLOB    NOT NULL,
    prev           BLOB    NOT NULL,
    hash           BLOB    NOT NULL
) STRICT;

-- Signed heads of the ledger.
CREATE TABLE checkpoints (
    seq       INTEGER PRIMARY KEY,
    head      BLOB    NOT NULL,
    time      INTEGER NOT NULL,
    signature BLOB    NOT NULL
) STRICT;
