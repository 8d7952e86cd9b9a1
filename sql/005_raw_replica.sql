-- The billing replica (docs/architecture.md, "Billing replica"): the source tables' contract
-- columns, copied incrementally from the billing SQLite file by reporting_assets/replica/sync.py
-- so that a run reads its days and its lookups from indexed PostgreSQL tables instead of
-- scanning the whole source. Patient ids never arrive here: every patient reference is
-- replaced by its pseudonym when it is copied (an id that is not an integer by a marker).
-- Only the writer reads or writes it. Idempotent like 002-004. UNLOGGED: a copy of another
-- database needs no WAL; after a crash PostgreSQL empties these tables (sync_state too) and
-- the next sync copies the source again.

CREATE SCHEMA IF NOT EXISTS raw;
REVOKE ALL ON SCHEMA raw FROM PUBLIC;
GRANT USAGE ON SCHEMA raw TO reporting_writer;

-- One row per source payment. payment_day is the partition day staging gives the row
-- (staging.parsing.parse_dates of payment_date; NULL when it has none), row_json the
-- contract columns (source.contract.PAYMENT_COLUMNS) exactly as SQLite typed them.
CREATE UNLOGGED TABLE IF NOT EXISTS raw.payments (
    id BIGINT PRIMARY KEY,
    payment_day DATE,
    row_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS raw_payments_payment_day ON raw.payments (payment_day);

-- One row per source invoice: source.contract.INVOICE_COLUMNS as SQLite typed them.
CREATE UNLOGGED TABLE IF NOT EXISTS raw.invoices (
    id BIGINT PRIMARY KEY,
    row_json TEXT NOT NULL
);

-- The pseudonyms of the patients that exist in the source.
CREATE UNLOGGED TABLE IF NOT EXISTS raw.patients (
    pseudonym TEXT PRIMARY KEY
);

-- Where each table's copy stands: the keyset position (updated_at, id) of the last row
-- copied, and the source's row count and largest id at that time (what deletions are
-- noticed by). key_fingerprint: which pseudonym key the copy was made with; source_file: which
-- file (path and inode) it was copied from. Either changing starts the copy again.
CREATE UNLOGGED TABLE IF NOT EXISTS raw.sync_state (
    source_table TEXT PRIMARY KEY,
    updated_at TEXT NOT NULL,
    last_id BIGINT NOT NULL,
    row_count BIGINT NOT NULL,
    max_id BIGINT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    source_file TEXT NOT NULL,
    synced_at TIMESTAMP NOT NULL DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')
);

REVOKE ALL ON ALL TABLES IN SCHEMA raw FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA raw TO reporting_writer;
