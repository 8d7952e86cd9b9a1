-- What each sync changed in the billing replica, so that staged_invoices takes from
-- staging.payments every day whose payments, and the lookups they were resolved against, did not
-- change since the day was staged, not only the days staged from the replica's latest version
-- (docs/data-model.md, "Billing replica"). Replaces 008's transaction ids by a sequence:
--   * raw.replica_change_seq: each sync takes one value while it holds the replica's lock, so a
--     later sync always has a larger one (transaction ids need not: a sync that waited for the
--     lock can have the smaller id). raw.replica_version.version is the value of the last sync
--     that changed anything, as before.
--   * raw.replica_version.lookups_version: the last sync that changed what any payment is resolved
--     against (an invoice's number or patient changed, an invoice removed, the patients' pseudonyms
--     copied again, a table copied whole).
--   * raw.replica_version.appended_version: the last sync that added invoices or patients. A new id
--     changes only payments that were rejected for referencing it, so only days with rejects need it.
--   * raw.replica_version.payments_copied_version: the last sync that copied the payments whole.
--   * raw.payment_day_versions: per partition day, the last sync that added, changed or removed a
--     payment of that day (either day of a payment that moved).
-- Logged, like raw.replica_version: a crash empties the UNLOGGED copies, and the whole copy that
-- follows takes a new value. Idempotent like 002-009.
CREATE SEQUENCE IF NOT EXISTS raw.replica_change_seq;
GRANT USAGE, SELECT ON SEQUENCE raw.replica_change_seq TO reporting_writer;

ALTER TABLE raw.replica_version ADD COLUMN IF NOT EXISTS lookups_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE raw.replica_version ADD COLUMN IF NOT EXISTS appended_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE raw.replica_version ADD COLUMN IF NOT EXISTS payments_copied_version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS raw.payment_day_versions (
    day DATE PRIMARY KEY,
    version BIGINT NOT NULL
);
REVOKE ALL ON raw.payment_day_versions FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON raw.payment_day_versions TO reporting_writer;

-- What changed before this file is unknown: as if everything changed at the current version, so
-- only the days staged from it are taken (as 008 did), and the sequence continues above it.
UPDATE raw.replica_version SET lookups_version = greatest(lookups_version, version),
    payments_copied_version = greatest(payments_copied_version, version);
SELECT setval('raw.replica_change_seq', greatest(
    (SELECT last_value FROM raw.replica_change_seq),
    (SELECT coalesce(max(version), 0) FROM raw.replica_version),
    (SELECT coalesce(max(replica_version), 0) FROM staging.payment_day_counts),
    1));
