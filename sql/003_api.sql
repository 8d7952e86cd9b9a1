-- The reporting API (SPEC section 10): its accounts, the business-figure views shared by the
-- API, the dashboard and BI tools, and one NOLOGIN group role per API role. Each API request
-- runs `SET LOCAL ROLE reporting_api_<role>` before its read, so these grants, not the API's
-- code alone, decide what a role can see. Idempotent like 002: re-running it changes nothing.

-- ------------------------------------------------------------------ API accounts
-- People, not database logins. Only the API's service role reads it; no report role does.
CREATE TABLE IF NOT EXISTS reporting.api_user (
    id SERIAL PRIMARY KEY,
    username VARCHAR(63) NOT NULL,
    password_hash TEXT NOT NULL,            -- argon2id, PHC string form
    role VARCHAR(20) NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
    updated_at TIMESTAMP NOT NULL DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'),
    last_login_at TIMESTAMP,
    CONSTRAINT api_user_username_key UNIQUE (username),
    CONSTRAINT api_user_username_check CHECK (username ~ '^[a-z_][a-z0-9_]{0,62}$'),
    CONSTRAINT api_user_role_check CHECK (role IN ('finance', 'billing', 'auditor', 'admin')),
    CONSTRAINT api_user_password_hash_check CHECK (password_hash LIKE '$argon2id$%')
);
-- the sign-in throttle counts recent login_failed rows per user and per address
CREATE INDEX IF NOT EXISTS idx_audit_action_timestamp ON reporting.audit_log(action, timestamp);

-- ------------------------------------------------------------------ business-figure views
-- Whole ISO weeks (Monday to Sunday) of revenue_metrics; average half-up to the cent.
CREATE OR REPLACE VIEW reporting.revenue_weekly AS
SELECT
    date_trunc('week', date_key)::date AS period_start,
    (date_trunc('week', date_key)::date + 6) AS period_end,
    sum(total_revenue)::numeric(12,2) AS total_revenue,
    sum(payment_count)::integer AS payment_count,
    CASE WHEN sum(payment_count) = 0 THEN 0.00
         ELSE round(sum(total_revenue) / sum(payment_count), 2) END::numeric(12,2) AS average_payment
FROM reporting.revenue_metrics
GROUP BY 1, 2;

-- Calendar months of revenue_metrics; average half-up to the cent.
CREATE OR REPLACE VIEW reporting.revenue_monthly AS
SELECT
    date_trunc('month', date_key)::date AS period_start,
    (date_trunc('month', date_key) + interval '1 month - 1 day')::date AS period_end,
    sum(total_revenue)::numeric(12,2) AS total_revenue,
    sum(payment_count)::integer AS payment_count,
    CASE WHEN sum(payment_count) = 0 THEN 0.00
         ELSE round(sum(total_revenue) / sum(payment_count), 2) END::numeric(12,2) AS average_payment
FROM reporting.revenue_metrics
GROUP BY 1, 2;

-- A/R aging: overdue invoices per days-overdue bucket and payment_status (no invoice or patient ids).
CREATE OR REPLACE VIEW reporting.ar_aging AS
SELECT
    CASE WHEN days_overdue <= 30 THEN '0-30'
         WHEN days_overdue <= 60 THEN '31-60'
         WHEN days_overdue <= 90 THEN '61-90'
         WHEN days_overdue <= 120 THEN '91-120'
         ELSE '120+' END AS bucket,
    CASE WHEN days_overdue <= 30 THEN 1
         WHEN days_overdue <= 60 THEN 2
         WHEN days_overdue <= 90 THEN 3
         WHEN days_overdue <= 120 THEN 4
         ELSE 5 END AS bucket_order,
    payment_status,
    count(*)::integer AS invoice_count,
    sum(amount_due)::numeric(14,2) AS amount_due
FROM reporting.outstanding_payments
GROUP BY 1, 2, 3;

-- Data health: quarantined source rows per source table and reason (counts only, no ids).
CREATE OR REPLACE VIEW reporting.quarantine_summary AS
SELECT q.source_table, reason, count(*)::integer AS rows
FROM reporting.quarantine q, unnest(q.reasons) AS reason
GROUP BY q.source_table, reason;

-- Data health: when each reporting table was last written, from the materialize audit rows
-- (resource_id is '<asset>' or '<asset>/<partitions>').
CREATE OR REPLACE VIEW reporting.table_freshness AS
SELECT DISTINCT ON (split_part(resource_id, '/', 1))
    split_part(resource_id, '/', 1)::varchar(50) AS table_name,
    timestamp AS last_refreshed_at,
    dagster_run_id AS last_run_id
FROM reporting.audit_log
WHERE action = 'materialize' AND resource_type = 'asset'
ORDER BY split_part(resource_id, '/', 1), timestamp DESC, id DESC;

-- ------------------------------------------------------------------ roles
-- Four report roles plus the service role the API's login joins. Cluster-wide, so created
-- IF-NOT-EXISTS style (see 002). The service role is NOINHERIT: its login can SET ROLE to a
-- report role but does not hold the report roles' rights outside that.
DO $$
DECLARE
    group_role TEXT;
BEGIN
    FOREACH group_role IN ARRAY ARRAY['reporting_api_finance', 'reporting_api_billing', 'reporting_api_auditor',
                                      'reporting_api_admin', 'reporting_api_service'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = group_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', group_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it at the same moment
            END;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reporting_api_service' AND rolinherit) THEN
        ALTER ROLE reporting_api_service NOINHERIT;
    END IF;
    FOREACH group_role IN ARRAY ARRAY['reporting_api_finance', 'reporting_api_billing', 'reporting_api_auditor',
                                      'reporting_api_admin'] LOOP
        IF NOT pg_has_role('reporting_api_service', group_role, 'MEMBER') THEN
            BEGIN
                EXECUTE format('GRANT %I TO reporting_api_service', group_role);
            EXCEPTION WHEN unique_violation OR duplicate_object THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$$;

-- ------------------------------------------------------------------ grants
-- Default privileges of 002 gave the ETL writer every new table: accounts are not its business.
REVOKE ALL ON reporting.api_user FROM PUBLIC, reporting_writer;
REVOKE ALL ON reporting.api_user_id_seq FROM PUBLIC, reporting_writer;
REVOKE ALL ON reporting.revenue_weekly, reporting.revenue_monthly, reporting.ar_aging,
              reporting.quarantine_summary, reporting.table_freshness FROM PUBLIC;
-- 002 grants BI every view of the schema; these two derive from audit_log and quarantine
REVOKE ALL ON reporting.quarantine_summary, reporting.table_freshness FROM reporting_bi;

GRANT USAGE ON SCHEMA reporting TO reporting_api_finance, reporting_api_billing, reporting_api_auditor,
                                   reporting_api_admin, reporting_api_service;
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO reporting_api_service', current_database());
END
$$;

-- finance: revenue, aging, data health, ETL status
GRANT SELECT ON reporting.revenue_metrics, reporting.revenue_weekly, reporting.revenue_monthly, reporting.ar_aging,
                reporting.quarantine_summary, reporting.table_freshness, reporting.etl_process_status
    TO reporting_api_finance;
-- billing: finance's reports plus the per-invoice and per-patient rows
GRANT SELECT ON reporting.revenue_metrics, reporting.revenue_weekly, reporting.revenue_monthly, reporting.ar_aging,
                reporting.quarantine_summary, reporting.table_freshness, reporting.etl_process_status,
                reporting.outstanding_payments, reporting.patient_payment_history
    TO reporting_api_billing;
-- auditor: data health, ETL status and the audit log
GRANT SELECT ON reporting.quarantine_summary, reporting.table_freshness, reporting.etl_process_status,
                reporting.audit_log
    TO reporting_api_auditor;
-- admin: every report
GRANT SELECT ON reporting.revenue_metrics, reporting.revenue_weekly, reporting.revenue_monthly, reporting.ar_aging,
                reporting.quarantine_summary, reporting.table_freshness, reporting.etl_process_status,
                reporting.outstanding_payments, reporting.patient_payment_history, reporting.audit_log
    TO reporting_api_admin;

-- the API's own work outside SET ROLE: read accounts, stamp sign-ins, append (and, for the
-- sign-in throttle, count) audit rows, read the schema version for /readyz
GRANT SELECT ON reporting.api_user TO reporting_api_service;
GRANT UPDATE (last_login_at) ON reporting.api_user TO reporting_api_service;
GRANT SELECT, INSERT ON reporting.audit_log TO reporting_api_service;
GRANT USAGE ON SEQUENCE reporting.audit_log_id_seq TO reporting_api_service;
GRANT SELECT ON reporting.schema_version TO reporting_api_service;

-- BI tools read the same business figures (data-health views stay with the API roles)
GRANT SELECT ON reporting.revenue_weekly, reporting.revenue_monthly, reporting.ar_aging TO reporting_bi;
