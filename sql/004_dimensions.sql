-- The dimensions of the seed's star schema (docs/data-model.md, "Dimensions"): dim_date,
-- dim_patient and dim_user, each rebuilt whole by its Dagster asset in one transaction.
-- The facts join them on date_key / payment_date, patient_id and user_id. No foreign keys:
-- facts and dimensions are written by different runs, so the referential asset checks
-- report orphans instead of refusing a fact row. Idempotent like 002 and 003.

-- ------------------------------------------------------------------ dim_date
CREATE TABLE IF NOT EXISTS reporting.dim_date (
    date_key DATE PRIMARY KEY,
    year INTEGER NOT NULL,
    quarter INTEGER NOT NULL,
    month INTEGER NOT NULL,
    month_name VARCHAR(9) NOT NULL,
    iso_year INTEGER NOT NULL,
    iso_week INTEGER NOT NULL,
    day_of_week INTEGER NOT NULL,       -- ISO: 1 = Monday ... 7 = Sunday
    day_name VARCHAR(9) NOT NULL,
    is_weekend BOOLEAN NOT NULL,
    week_start DATE NOT NULL,           -- the ISO week's Monday
    week_end DATE NOT NULL,             -- the ISO week's Sunday
    month_start DATE NOT NULL,
    month_end DATE NOT NULL,
    fiscal_year INTEGER NOT NULL,       -- named by the calendar year it ends in
    fiscal_quarter INTEGER NOT NULL,
    dagster_run_id VARCHAR(64),
    CONSTRAINT dim_date_quarter_check CHECK (quarter BETWEEN 1 AND 4),
    CONSTRAINT dim_date_month_check CHECK (month BETWEEN 1 AND 12),
    CONSTRAINT dim_date_iso_week_check CHECK (iso_week BETWEEN 1 AND 53),
    CONSTRAINT dim_date_day_of_week_check CHECK (day_of_week BETWEEN 1 AND 7),
    CONSTRAINT dim_date_fiscal_quarter_check CHECK (fiscal_quarter BETWEEN 1 AND 4),
    CONSTRAINT dim_date_week_check CHECK (week_start <= date_key AND date_key <= week_end AND week_end = week_start + 6),
    CONSTRAINT dim_date_month_bounds_check CHECK (month_start <= date_key AND date_key <= month_end)
);

-- ------------------------------------------------------------------ dim_patient
-- The pseudonym and figures derived from the facts only: no name, birth date, ZIP or age.
CREATE TABLE IF NOT EXISTS reporting.dim_patient (
    patient_id VARCHAR(50) PRIMARY KEY,  -- De-identified patient ID (pt_ + 32 hex)
    first_payment_date DATE,
    last_payment_date DATE,
    first_invoice_date DATE,
    paid_count INTEGER NOT NULL,
    paid_amount DECIMAL(14,2) NOT NULL,
    pending_count INTEGER NOT NULL,
    pending_amount DECIMAL(14,2) NOT NULL,
    failed_count INTEGER NOT NULL,
    failed_amount DECIMAL(14,2) NOT NULL,
    refunded_count INTEGER NOT NULL,
    refunded_amount DECIMAL(14,2) NOT NULL,
    amount_outstanding DECIMAL(14,2) NOT NULL,
    dagster_run_id VARCHAR(64),
    CONSTRAINT dim_patient_patient_id_check CHECK (patient_id ~ '^pt_[0-9a-f]{32}$'),
    CONSTRAINT dim_patient_counts_check CHECK (paid_count >= 0 AND pending_count >= 0 AND failed_count >= 0 AND refunded_count >= 0),
    CONSTRAINT dim_patient_amounts_check
        CHECK (paid_amount >= 0 AND pending_amount >= 0 AND failed_amount >= 0 AND refunded_amount >= 0 AND amount_outstanding >= 0),
    CONSTRAINT dim_patient_payment_dates_check CHECK (first_payment_date <= last_payment_date)
);

-- ------------------------------------------------------------------ dim_user
CREATE TABLE IF NOT EXISTS reporting.dim_user (
    user_id VARCHAR(50) PRIMARY KEY,     -- audit_log.user_id
    kind VARCHAR(10) NOT NULL,
    api_role VARCHAR(20),                -- reporting.api_user.role for api:<name> actors
    api_disabled BOOLEAN,                -- reporting.api_user.disabled for api:<name> actors
    first_seen TIMESTAMP NOT NULL,       -- UTC, first audit row
    last_seen TIMESTAMP NOT NULL,        -- UTC, latest audit row
    dagster_run_id VARCHAR(64),
    CONSTRAINT dim_user_kind_check CHECK (kind IN ('api', 'dagster', 'system', 'local')),
    CONSTRAINT dim_user_api_fields_check CHECK (kind = 'api' OR (api_role IS NULL AND api_disabled IS NULL)),
    CONSTRAINT dim_user_seen_check CHECK (first_seen <= last_seen)
);

-- ------------------------------------------------------------------ grants
-- Default privileges of 002 gave the writer all three; nobody else has anything yet.
REVOKE ALL ON reporting.dim_date, reporting.dim_patient, reporting.dim_user FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON reporting.dim_date, reporting.dim_patient, reporting.dim_user TO reporting_writer;
-- dim_user is built from API accounts: the writer reads their name, role and flag, never the password hash
GRANT SELECT (username, role, disabled) ON reporting.api_user TO reporting_writer;

-- BI: the calendar and the pseudonymous patients, like the facts they describe
GRANT SELECT ON reporting.dim_date, reporting.dim_patient TO reporting_bi;
-- who acted is audit information: the auditors (database and API) and the API admin only
GRANT SELECT ON reporting.dim_user TO reporting_auditor, reporting_api_auditor, reporting_api_admin;
