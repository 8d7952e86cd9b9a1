-- Requests for dim_patient's next build to compare its rows with staging.invoices and
-- reporting.outstanding_payments (docs/data-model.md, "reporting.dim_patient"): every write that
-- changes either table (staged_invoices, outstanding_payments, retention) adds a row in its own
-- transaction; a dim_patient build deletes the rows it sees, in its own transaction, before it
-- compares. A write committed after that delete leaves its row for the next build, so no change
-- is missed, whatever order the transactions start and commit in. Rows are never updated, so a
-- writer never waits for a dim_patient build.
-- Replaces comparing audit_log and staging.refreshes timestamps, which missed a write that
-- committed after a build had decided not to compare. A warehouse whose dim_patient was built
-- before this file gets one request, so its next build compares. Idempotent like 002-012.
CREATE TABLE IF NOT EXISTS staging.patient_comparison_requests (
    asset_key TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC')
);
REVOKE ALL ON staging.patient_comparison_requests FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON staging.patient_comparison_requests TO reporting_writer;

INSERT INTO staging.patient_comparison_requests (asset_key)
SELECT 'sql/013' WHERE EXISTS (SELECT 1 FROM staging.refreshes WHERE asset_key = 'dim_patient')
AND NOT EXISTS (SELECT 1 FROM staging.patient_comparison_requests);
