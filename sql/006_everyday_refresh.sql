-- What the everyday refresh of a large clinic reads instead of scanning whole tables
-- (docs/benchmarks.md, "Where the time goes"):
--   * dim_patient rebuilds the patients of a range of days and reads their first invoice;
--   * the source-change sensor compares, per day, the payments the source has with those the
--     warehouse holds (staged or quarantined on that day); staged_payments keeps these counts
--     here, in the transaction that writes the day's rows.
CREATE INDEX IF NOT EXISTS idx_staging_invoices_patient ON staging.invoices(patient_id);

CREATE TABLE IF NOT EXISTS staging.payment_day_counts (
    day DATE PRIMARY KEY,
    staged BIGINT NOT NULL,
    quarantined BIGINT NOT NULL
);

-- a warehouse filled before this table existed: count what it holds
INSERT INTO staging.payment_day_counts (day, staged, quarantined)
SELECT day, sum(staged), sum(quarantined) FROM (
    SELECT payment_date AS day, count(*) AS staged, 0 AS quarantined FROM staging.payments GROUP BY 1
    UNION ALL
    SELECT partition_key::date, 0, count(*) FROM reporting.quarantine
    WHERE asset_key = 'staged_payments' AND partition_key IS NOT NULL GROUP BY 1
) counts GROUP BY day
ON CONFLICT (day) DO NOTHING;

-- When each staging table was last replaced (in the transaction that replaced it). With the
-- audit_log's materialize rows of the reporting tables, it tells dim_patient whether it was
-- built after the invoices it reads (defs/reporting/dim_patient.py).
CREATE TABLE IF NOT EXISTS staging.refreshes (
    asset_key VARCHAR(100) PRIMARY KEY,
    refreshed_at TIMESTAMP NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC')
);

-- The pseudonymous patients whose patient_payment_history rows changed (written in the same
-- transaction as the rows) since dim_patient last rebuilt them: an everyday refresh rebuilds
-- exactly these patients' dimension rows, not every patient of the days it refreshed.
CREATE TABLE IF NOT EXISTS staging.patients_changed (
    patient_id VARCHAR(50) PRIMARY KEY
);
