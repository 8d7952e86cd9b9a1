-- Which state of the billing replica staging last read, so that staged_invoices can take a
-- day's valid payments from staging.payments instead of validating them again when nothing
-- in the replica changed since that day was staged (docs/data-model.md, "Billing replica").
--   * raw.replica_version: the id of the last transaction whose sync changed the replica (copied,
--     updated or removed a row, or copied a table whole). Transaction ids never repeat, and this
--     table is logged: after a crash empties the UNLOGGED copies, the whole copy that follows
--     gets a new version, so no version read before the crash can match again.
--   * staging.payment_day_counts.replica_version: the version staged_payments read before it
--     read the day's payments and lookups (NULL: staged before this file, or unknown).
-- Idempotent like 002-007.
CREATE TABLE IF NOT EXISTS raw.replica_version (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    version BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')
);
REVOKE ALL ON raw.replica_version FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON raw.replica_version TO reporting_writer;

ALTER TABLE staging.payment_day_counts ADD COLUMN IF NOT EXISTS replica_version BIGINT;
