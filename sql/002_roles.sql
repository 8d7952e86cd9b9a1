-- Access control (docs/security.md): three NOLOGIN group roles and what each may touch.
--
--   reporting_bi       read the reporting facts (and reporting views); nothing else
--   reporting_auditor  read audit_log and etl_process_status; nothing else
--   reporting_writer   the ETL: read and write reporting and staging tables, append to audit_log
--
-- Login users join exactly one of them (`reporting-admin create-user NAME --role ...`).
-- Roles are cluster-wide while GRANTs live in each database, so roles are created
-- IF-NOT-EXISTS style (many databases of one server run this file, possibly at once)
-- and every GRANT/REVOKE below is idempotent: re-running the file changes nothing.
-- Nobody can UPDATE audit_log whatever their grants: the trigger of 001 refuses it.

DO $$
DECLARE
    group_role TEXT;
BEGIN
    FOREACH group_role IN ARRAY ARRAY['reporting_bi', 'reporting_auditor', 'reporting_writer'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = group_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', group_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it at the same moment
            END;
        END IF;
    END LOOP;
END
$$;

-- Role settings are cluster-wide catalog rows: set them only when missing, so concurrent
-- migrations of other databases do not update the same row ("tuple concurrently updated").
-- A role's settings apply to sessions of that role only (members do not inherit them), so
-- create-user sets the same search_path on each BI/auditor login user.
DO $$
DECLARE
    group_role TEXT;
BEGIN
    FOREACH group_role IN ARRAY ARRAY['reporting_bi', 'reporting_auditor'] LOOP
        IF NOT EXISTS (
            SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
            WHERE r.rolname = group_role AND s.setdatabase = 0 AND 'search_path=reporting' = ANY (s.setconfig)
        ) THEN
            EXECUTE format('ALTER ROLE %I SET search_path = reporting', group_role);
        END IF;
    END LOOP;
END
$$;

-- ------------------------------------------------------------------ schemas
REVOKE ALL ON SCHEMA reporting FROM PUBLIC;
REVOKE ALL ON SCHEMA staging FROM PUBLIC;
GRANT USAGE ON SCHEMA reporting TO reporting_bi, reporting_auditor, reporting_writer;
GRANT USAGE ON SCHEMA staging TO reporting_writer;
-- TEMP for the writer's CREATE TEMP TABLE (merge_rows). PUBLIC has it by default too; a
-- database cloned from a template does not copy database-level grants.
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO reporting_bi, reporting_auditor, reporting_writer', current_database());
END
$$;

-- ------------------------------------------------------------------ tables that exist now
REVOKE ALL ON ALL TABLES IN SCHEMA reporting FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA staging FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA reporting FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA staging FROM PUBLIC;

-- the writer: every reporting and staging table...
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA reporting TO reporting_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA staging TO reporting_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA reporting TO reporting_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA staging TO reporting_writer;
-- ...but audit_log only appended and read (DELETE stays for retention, which the trigger guards)...
REVOKE UPDATE ON reporting.audit_log FROM reporting_writer;
-- ...and migrations are an owner's job: the writer reads the schema version, never records one.
REVOKE INSERT, UPDATE, DELETE ON reporting.schema_version FROM reporting_writer;

-- BI: the reporting facts only (no audit_log, quarantine, etl_process_status or staging)
GRANT SELECT ON reporting.revenue_metrics, reporting.patient_payment_history, reporting.outstanding_payments TO reporting_bi;

-- the auditor: who did what, and what ran
GRANT SELECT ON reporting.audit_log, reporting.etl_process_status TO reporting_auditor;

-- views in the reporting schema are made for BI (a view must not expose audit or quarantine rows)
DO $$
DECLARE
    view_name TEXT;
BEGIN
    FOR view_name IN SELECT viewname FROM pg_views WHERE schemaname = 'reporting' LOOP
        EXECUTE format('GRANT SELECT ON reporting.%I TO reporting_bi', view_name);
    END LOOP;
END
$$;

-- ------------------------------------------------------------------ objects created later
-- Tables and sequences that later migrations create (as the role running this file) are
-- writable by the writer and readable by nobody else until a migration grants it.
ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO reporting_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA staging GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO reporting_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT USAGE ON SEQUENCES TO reporting_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA staging GRANT USAGE ON SEQUENCES TO reporting_writer;
