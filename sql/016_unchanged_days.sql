-- A daily run leaves a day's staged payments and its patient_payment_history rows as they are
-- when nothing they are made from changed since they were written (docs/data-model.md, "Billing
-- replica"; docs/operations.md, "Everyday runs"):
--   * staging.payment_day_counts.staged_run_id: the run whose staged_payments wrote the day's
--     staged rows (their dagster_run_id); staged_code: the version of the code that staged them
--     (reporting_assets.staging.code_version). A day staged by other code is staged again by its
--     next run (staged_invoices still takes its sums from staging.payments meanwhile).
--   * staging.history_days: per day, the staging run whose rows patient_payment_history last
--     wrote for it, and the code version that wrote them. The day is written again when
--     staged_payments has staged it since, or the code differs.
-- Days written before this file have neither: each is written again by its next run. Idempotent
-- like 002-015.
ALTER TABLE staging.payment_day_counts ADD COLUMN IF NOT EXISTS staged_run_id TEXT;
ALTER TABLE staging.payment_day_counts ADD COLUMN IF NOT EXISTS staged_code TEXT;

CREATE TABLE IF NOT EXISTS staging.history_days (
    day DATE PRIMARY KEY,
    staged_run_id TEXT NOT NULL,
    code_version TEXT NOT NULL
);
REVOKE ALL ON staging.history_days FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON staging.history_days TO reporting_writer;
