-- Reporting schema of the clinic billing platform (seed: 004-etl-reporting-system).
-- Every table, column, type and index of the seed, plus documented additions:
-- CHECK constraints mirroring the pandera rules, idempotency keys, lineage columns,
-- the quarantine table and the de-identified staging tables. Timestamps are UTC.

CREATE SCHEMA IF NOT EXISTS reporting;
CREATE SCHEMA IF NOT EXISTS staging;

-- ---------------------------------------------------------------- revenue_metrics
CREATE TABLE IF NOT EXISTS reporting.revenue_metrics (
    id SERIAL PRIMARY KEY,
    date_key DATE NOT NULL,
    total_revenue DECIMAL(10,2) NOT NULL,
    payment_count INTEGER NOT NULL,
    average_payment DECIMAL(10,2) NOT NULL,
    created_at TIMESTAMP DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
    updated_at TIMESTAMP DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
    dagster_run_id VARCHAR(64),
    CONSTRAINT revenue_metrics_date_key_key UNIQUE (date_key),
    CONSTRAINT revenue_metrics_total_revenue_check CHECK (total_revenue >= 0),
    CONSTRAINT revenue_metrics_payment_count_check CHECK (payment_count >= 0),
    CONSTRAINT revenue_metrics_average_payment_check CHECK (average_payment >= 0),
    -- "date_key cannot be in the future": pandera checks it exactly in the clinic's
    -- time zone; the database allows one day of slack for zones ahead of UTC.
    CONSTRAINT revenue_metrics_date_key_check CHECK (date_key <= (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')::date + 1)
);
CREATE INDEX IF NOT EXISTS idx_revenue_metrics_date ON reporting.revenue_metrics(date_key);
CREATE INDEX IF NOT EXISTS idx_revenue_metrics_created ON reporting.revenue_metrics(created_at);

-- ------------------------------------------------------- patient_payment_history
CREATE TABLE IF NOT EXISTS reporting.patient_payment_history (
    id SERIAL PRIMARY KEY,
    patient_id VARCHAR(50) NOT NULL,  -- De-identified patient ID
    payment_date DATE NOT NULL,
    amount DECIMAL(10,2) NOT NULL,
    payment_status VARCHAR(20) NOT NULL,
    invoice_id VARCHAR(50),
    created_at TIMESTAMP DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
    source_payment_id BIGINT NOT NULL,
    dagster_run_id VARCHAR(64),
    CONSTRAINT patient_payment_history_amount_check CHECK (amount > 0),
    CONSTRAINT patient_payment_history_payment_status_check
        CHECK (payment_status IN ('paid', 'pending', 'failed', 'refunded')),
    CONSTRAINT patient_payment_history_patient_id_check CHECK (patient_id <> ''),
    CONSTRAINT patient_payment_history_payment_date_check
        CHECK (payment_date <= (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')::date + 1)
);
CREATE INDEX IF NOT EXISTS idx_patient_payment_patient ON reporting.patient_payment_history(patient_id);
CREATE INDEX IF NOT EXISTS idx_patient_payment_date ON reporting.patient_payment_history(payment_date);
CREATE INDEX IF NOT EXISTS idx_patient_payment_status ON reporting.patient_payment_history(payment_status);

-- ---------------------------------------------------------- outstanding_payments
CREATE TABLE IF NOT EXISTS reporting.outstanding_payments (
    id SERIAL PRIMARY KEY,
    patient_id VARCHAR(50) NOT NULL,
    invoice_id VARCHAR(50) NOT NULL,
    amount_due DECIMAL(10,2) NOT NULL,
    days_overdue INTEGER NOT NULL,
    last_payment_date DATE,
    payment_status VARCHAR(20) NOT NULL,
    created_at TIMESTAMP DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
    updated_at TIMESTAMP DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
    dagster_run_id VARCHAR(64),
    CONSTRAINT outstanding_payments_invoice_id_key UNIQUE (invoice_id),
    CONSTRAINT outstanding_payments_amount_due_check CHECK (amount_due > 0),
    CONSTRAINT outstanding_payments_days_overdue_check CHECK (days_overdue >= 0),
    CONSTRAINT outstanding_payments_payment_status_check
        CHECK (payment_status IN ('overdue', 'collection', 'written_off')),
    CONSTRAINT outstanding_payments_ids_check CHECK (patient_id <> '' AND invoice_id <> '')
);
CREATE INDEX IF NOT EXISTS idx_outstanding_patient ON reporting.outstanding_payments(patient_id);
CREATE INDEX IF NOT EXISTS idx_outstanding_days ON reporting.outstanding_payments(days_overdue);
CREATE INDEX IF NOT EXISTS idx_outstanding_status ON reporting.outstanding_payments(payment_status);

-- ------------------------------------------------------------ etl_process_status
CREATE TABLE IF NOT EXISTS reporting.etl_process_status (
    id SERIAL PRIMARY KEY,
    process_name VARCHAR(100) NOT NULL,
    status VARCHAR(20) NOT NULL,
    started_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,
    records_processed INTEGER DEFAULT 0,
    error_message TEXT,
    created_at TIMESTAMP DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
    dagster_run_id VARCHAR(64),
    CONSTRAINT etl_process_status_dagster_run_id_key UNIQUE (dagster_run_id),
    CONSTRAINT etl_process_status_status_check CHECK (status IN ('running', 'completed', 'failed', 'stopped')),
    CONSTRAINT etl_process_status_completed_at_check CHECK (completed_at IS NULL OR completed_at >= started_at),
    CONSTRAINT etl_process_status_records_processed_check CHECK (records_processed >= 0)
);
CREATE INDEX IF NOT EXISTS idx_etl_process_status_started ON reporting.etl_process_status(started_at);

-- --------------------------------------------------------------------- audit_log
CREATE TABLE IF NOT EXISTS reporting.audit_log (
    id SERIAL PRIMARY KEY,
    user_id VARCHAR(50) NOT NULL,
    action VARCHAR(100) NOT NULL,
    resource_type VARCHAR(50) NOT NULL,
    resource_id VARCHAR(50),
    timestamp TIMESTAMP DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
    ip_address INET,
    user_agent TEXT,
    row_count BIGINT,          -- rows written or removed by the action, where it has one
    dagster_run_id VARCHAR(64),
    details TEXT,              -- free text without PII (e.g. the partition range)
    CONSTRAINT audit_log_timestamp_check CHECK (timestamp IS NOT NULL),
    CONSTRAINT audit_log_fields_check CHECK (user_id <> '' AND action <> '' AND resource_type <> '')
);
CREATE INDEX IF NOT EXISTS idx_audit_user ON reporting.audit_log(user_id);
CREATE INDEX IF NOT EXISTS idx_audit_timestamp ON reporting.audit_log(timestamp);
CREATE INDEX IF NOT EXISTS idx_audit_action ON reporting.audit_log(action);

-- Audit rows are append-only: UPDATE is always refused, DELETE only inside the
-- retention path, which sets reporting.retention_cleanup = 'on' for its transaction.
CREATE OR REPLACE FUNCTION reporting.audit_log_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'audit_log rows are append-only and cannot be updated';
    END IF;
    IF TG_OP = 'DELETE' AND coalesce(current_setting('reporting.retention_cleanup', true), '') <> 'on' THEN
        RAISE EXCEPTION 'audit_log rows can only be removed by the retention job';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'audit_log cannot be truncated';
    END IF;
    RETURN OLD;
END;
$$;
DROP TRIGGER IF EXISTS audit_log_append_only ON reporting.audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON reporting.audit_log
    FOR EACH ROW EXECUTE FUNCTION reporting.audit_log_guard();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON reporting.audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON reporting.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION reporting.audit_log_guard();

-- -------------------------------------------------------------------- quarantine
-- Source rows that broke a validation rule: ids and reasons only, never PII.
CREATE TABLE IF NOT EXISTS reporting.quarantine (
    id BIGSERIAL PRIMARY KEY,
    source_table VARCHAR(20) NOT NULL,
    source_id BIGINT,
    asset_key VARCHAR(100) NOT NULL,
    partition_key VARCHAR(20),   -- NULL: not partitioned, or a payment whose date places it in no partition
    dagster_run_id VARCHAR(64) NOT NULL,
    reasons TEXT[] NOT NULL,
    quarantined_at TIMESTAMP NOT NULL DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
    CONSTRAINT quarantine_source_table_check CHECK (source_table IN ('patients', 'invoices', 'payments')),
    CONSTRAINT quarantine_reasons_check CHECK (cardinality(reasons) > 0)
);
CREATE INDEX IF NOT EXISTS idx_quarantine_asset_partition ON reporting.quarantine(asset_key, partition_key);
CREATE INDEX IF NOT EXISTS idx_quarantine_at ON reporting.quarantine(quarantined_at);
CREATE INDEX IF NOT EXISTS idx_quarantine_source ON reporting.quarantine(source_table, source_id);

-- ---------------------------------------------------------------------- staging
-- De-identified, validated copies of the source rows the reporting tables are built from.
CREATE TABLE IF NOT EXISTS staging.payments (
    source_payment_id BIGINT NOT NULL,
    patient_id VARCHAR(50) NOT NULL,
    invoice_id VARCHAR(50),
    source_invoice_id BIGINT,          -- lineage: lets the sensor refresh the days of a changed invoice's payments
    payment_date DATE NOT NULL,
    amount_cents BIGINT NOT NULL,      -- exact integer cents; reporting tables hold NUMERIC(10,2)
    payment_status VARCHAR(20) NOT NULL,
    dagster_run_id VARCHAR(64),
    CONSTRAINT staging_payments_amount_check CHECK (amount_cents > 0 AND amount_cents <= 9999999999),
    CONSTRAINT staging_payments_status_check CHECK (payment_status IN ('paid', 'pending', 'failed', 'refunded'))
);
CREATE INDEX IF NOT EXISTS idx_staging_payments_date ON staging.payments(payment_date);
-- the source-change sensor looks up where a changed payment was before (the day it left)
CREATE INDEX IF NOT EXISTS idx_staging_payments_source_id ON staging.payments(source_payment_id);
CREATE INDEX IF NOT EXISTS idx_staging_payments_invoice ON staging.payments(source_invoice_id);

CREATE TABLE IF NOT EXISTS staging.invoices (
    source_invoice_id BIGINT PRIMARY KEY,
    invoice_id VARCHAR(50) NOT NULL,
    patient_id VARCHAR(50) NOT NULL,
    issue_date DATE NOT NULL,
    due_date DATE NOT NULL,
    total_cents BIGINT NOT NULL,
    invoice_status VARCHAR(20) NOT NULL,
    paid_cents BIGINT NOT NULL,
    last_payment_date DATE,
    dagster_run_id VARCHAR(64),
    CONSTRAINT staging_invoices_status_check CHECK (invoice_status IN ('open', 'paid', 'void', 'written_off'))
);
