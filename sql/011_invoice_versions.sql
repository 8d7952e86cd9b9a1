-- Which invoices changed since staged_invoices last ran, so that it stages again only those
-- (docs/data-model.md, "Billing replica"):
--   * raw.invoices.version: the raw.replica_change_seq value of the sync that last wrote the row;
--     0 for rows of a whole copy, which is followed by staging every invoice again anyway. The
--     partial index holds only the rows written since the last whole copy.
--   * staging.refreshes.replica_version: for staged_invoices, the replica version it read before
--     the rows it staged. NULL (staged before this file): the next run stages every invoice.
-- Idempotent like 002-010.
ALTER TABLE raw.invoices ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS raw_invoices_version ON raw.invoices (version) WHERE version > 0;
ALTER TABLE staging.refreshes ADD COLUMN IF NOT EXISTS replica_version BIGINT;
