-- Which invoices' valid payments changed in staging.payments since staged_invoices last took
-- these records (docs/data-model.md, "Billing replica"), so that its everyday run sums the
-- payments of those invoices only, instead of every staged payment:
--   * staged_payments, in the transaction that replaces a few days' rows, adds each invoice
--     whose paid sum or last payment date over those days differs before and after; a longer
--     window adds one NULL row (compare every invoice);
--   * retention adds the invoices of the staged payments it deletes;
--   * staged_invoices adds the invoices whose sums it took from payments validated outside
--     staging.payments (their days were not current), so that its next run sums them again.
-- staged_invoices deletes the rows it sees at the start of its transaction: a write committing
-- later leaves its rows for the next run. Rows are only inserted and deleted, so no writer
-- waits for another. A warehouse filled before this file gets one NULL row. Idempotent like 002-013.
CREATE TABLE IF NOT EXISTS staging.invoice_payment_changes (
    source_invoice_id BIGINT
);
REVOKE ALL ON staging.invoice_payment_changes FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON staging.invoice_payment_changes TO reporting_writer;

INSERT INTO staging.invoice_payment_changes (source_invoice_id)
SELECT NULL WHERE EXISTS (SELECT 1 FROM staging.refreshes WHERE asset_key = 'staged_invoices')
AND NOT EXISTS (SELECT 1 FROM staging.invoice_payment_changes WHERE source_invoice_id IS NULL);
