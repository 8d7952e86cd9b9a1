-- The billing files' stamp as of the last sync (reporting_assets/replica/sync.py, source_stamp;
-- docs/data-model.md, "Billing replica"): the identity, size and modification time of the
-- SQLite file and of its write-ahead log, taken before the sync read them. A sync that finds
-- the same stamp, taken when the files had been left alone for a while, reads nothing from the
-- source: without it, an everyday run over an unchanged 10M-payment source counted every table
-- (up to 1.1 s when the file is not in the page cache). One row at most; none when the last
-- stamp was taken while the files were still being written. UNLOGGED like the replica it
-- describes: a crash empties both, and the next sync checks everything. Idempotent like 002-016.
CREATE UNLOGGED TABLE IF NOT EXISTS raw.source_stamp (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    stamp TEXT NOT NULL,
    taken_at TIMESTAMP NOT NULL DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')
);
REVOKE ALL ON raw.source_stamp FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON raw.source_stamp TO reporting_writer;
