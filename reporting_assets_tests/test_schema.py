"""The reporting schema in PostgreSQL: the seed's tables, types and indexes, CHECKs, idempotent migrations."""

import psycopg2
import psycopg2.errors
import pytest

from reporting_assets.warehouse.database import libpq_dsn
from reporting_assets.warehouse.migrations import apply_migrations, available_migrations, schema_version
from reporting_assets_tests.conftest import query

# Every column of the seed document, with the type information_schema reports for it.
SEED_COLUMNS = {
    "revenue_metrics": {
        "id": "integer", "date_key": "date", "total_revenue": "numeric(10,2)", "payment_count": "integer",
        "average_payment": "numeric(10,2)", "created_at": "timestamp without time zone", "updated_at": "timestamp without time zone",
    },
    "patient_payment_history": {
        "id": "integer", "patient_id": "character varying(50)", "payment_date": "date", "amount": "numeric(10,2)",
        "payment_status": "character varying(20)", "invoice_id": "character varying(50)", "created_at": "timestamp without time zone",
    },
    "outstanding_payments": {
        "id": "integer", "patient_id": "character varying(50)", "invoice_id": "character varying(50)", "amount_due": "numeric(10,2)",
        "days_overdue": "integer", "last_payment_date": "date", "payment_status": "character varying(20)",
        "created_at": "timestamp without time zone", "updated_at": "timestamp without time zone",
    },
    "etl_process_status": {
        "id": "integer", "process_name": "character varying(100)", "status": "character varying(20)",
        "started_at": "timestamp without time zone", "completed_at": "timestamp without time zone", "records_processed": "integer",
        "error_message": "text", "created_at": "timestamp without time zone",
    },
    "audit_log": {
        "id": "integer", "user_id": "character varying(50)", "action": "character varying(100)", "resource_type": "character varying(50)",
        "resource_id": "character varying(50)", "timestamp": "timestamp without time zone", "ip_address": "inet", "user_agent": "text",
    },
}
SEED_NOT_NULL = {
    "revenue_metrics": {"id", "date_key", "total_revenue", "payment_count", "average_payment"},
    "patient_payment_history": {"id", "patient_id", "payment_date", "amount", "payment_status"},
    "outstanding_payments": {"id", "patient_id", "invoice_id", "amount_due", "days_overdue", "payment_status"},
    "etl_process_status": {"id", "process_name", "status", "started_at"},
    "audit_log": {"id", "user_id", "action", "resource_type"},
}
SEED_INDEXES = {
    "idx_revenue_metrics_date": ("revenue_metrics", "date_key"),
    "idx_revenue_metrics_created": ("revenue_metrics", "created_at"),
    "idx_patient_payment_patient": ("patient_payment_history", "patient_id"),
    "idx_patient_payment_date": ("patient_payment_history", "payment_date"),
    "idx_patient_payment_status": ("patient_payment_history", "payment_status"),
    "idx_outstanding_patient": ("outstanding_payments", "patient_id"),
    "idx_outstanding_days": ("outstanding_payments", "days_overdue"),
    "idx_outstanding_status": ("outstanding_payments", "payment_status"),
    "idx_audit_user": ("audit_log", "user_id"),
    "idx_audit_timestamp": ("audit_log", "timestamp"),
    "idx_audit_action": ("audit_log", "action"),
}


def _type(data_type, length, precision, scale):
    if data_type == "character varying":
        return f"character varying({length})"
    if data_type == "numeric":
        return f"numeric({precision},{scale})"
    return data_type


def test_every_seed_column_has_the_seed_type(database_url):
    rows = query(
        database_url,
        "SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, is_nullable "
        "FROM information_schema.columns WHERE table_schema = 'reporting'",
    )
    actual = {(r[0], r[1]): (_type(*r[2:6]), r[6]) for r in rows}
    for table, columns in SEED_COLUMNS.items():
        for column, expected_type in columns.items():
            assert (table, column) in actual, f"{table}.{column} is missing"
            assert actual[(table, column)][0] == expected_type, f"{table}.{column}"
            assert (actual[(table, column)][1] == "NO") == (column in SEED_NOT_NULL[table]), f"{table}.{column} nullability"


def test_every_seed_index_exists(database_url):
    rows = query(database_url, "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = 'reporting'")
    found = {r[0]: (r[1], r[2]) for r in rows}
    for name, (table, column) in SEED_INDEXES.items():
        assert name in found, name
        assert found[name][0] == table and f"({column})" in found[name][1].replace('"', ""), name


def test_applying_the_schema_again_changes_nothing(database_url):
    def snapshot():
        return (
            query(database_url, "SELECT table_schema, table_name, column_name, data_type, column_default FROM information_schema.columns WHERE table_schema IN ('reporting', 'staging') ORDER BY 1, 2, 3"),
            query(database_url, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname IN ('reporting', 'staging') ORDER BY 1"),
            query(database_url, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace IN ('reporting'::regnamespace, 'staging'::regnamespace) ORDER BY 1"),
            query(database_url, "SELECT version, checksum FROM reporting.schema_version ORDER BY 1"),
        )

    query(database_url, "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES ('2026-01-05', 10.00, 1, 10.00)")
    before = snapshot()
    assert apply_migrations(database_url) == []
    # and the files themselves are idempotent: re-running their SQL loses nothing
    for migration in available_migrations():
        query(database_url, migration.sql)
    assert snapshot() == before
    assert query(database_url, "SELECT total_revenue FROM reporting.revenue_metrics")[0][0] == 10


def test_empty_database_is_migrated_to_the_newest_version(empty_database_url):
    assert schema_version(empty_database_url) is None
    applied = apply_migrations(empty_database_url)
    assert applied == [m.name for m in available_migrations()]
    assert schema_version(empty_database_url) == available_migrations()[-1].version


def test_upgrade_from_an_older_version_keeps_data(empty_database_url, tmp_path):
    """A database at version 1 with data is brought forward by the later files only."""
    migrations = available_migrations()
    older = tmp_path / "sql"
    older.mkdir()
    (older / migrations[0].name).write_text(migrations[0].sql)
    apply_migrations(empty_database_url, sql_dir=older)
    query(empty_database_url, "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES ('2026-01-05', 10.00, 1, 10.00)")
    later = tmp_path / "sql_next"
    later.mkdir()
    for migration in migrations:
        (later / migration.name).write_text(migration.sql)
    (later / "999_add_note.sql").write_text("ALTER TABLE reporting.revenue_metrics ADD COLUMN IF NOT EXISTS note TEXT;")
    assert apply_migrations(empty_database_url, sql_dir=later) == [m.name for m in migrations[1:]] + ["999_add_note.sql"]
    assert query(empty_database_url, "SELECT total_revenue, note FROM reporting.revenue_metrics") == [(10, None)]


VIOLATIONS = {
    "revenue_metrics_total_revenue_check": "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES ('2026-01-01', -1, 0, 0)",
    "revenue_metrics_payment_count_check": "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES ('2026-01-01', 0, -1, 0)",
    "revenue_metrics_average_payment_check": "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES ('2026-01-01', 0, 0, -1)",
    "revenue_metrics_date_key_check": "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES (current_date + 5, 0, 0, 0)",
    "patient_payment_history_amount_check": "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id) VALUES ('pt_x', '2026-01-01', 0, 'paid', 1)",
    "patient_payment_history_payment_status_check": "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id) VALUES ('pt_x', '2026-01-01', 1, 'bounced', 1)",
    "patient_payment_history_payment_date_check": "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id) VALUES ('pt_x', current_date + 5, 1, 'paid', 1)",
    "patient_payment_history_patient_id_check": "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id) VALUES ('', '2026-01-01', 1, 'paid', 1)",
    "outstanding_payments_amount_due_check": "INSERT INTO reporting.outstanding_payments (patient_id, invoice_id, amount_due, days_overdue, payment_status) VALUES ('pt_x', 'INV-1', 0, 1, 'overdue')",
    "outstanding_payments_days_overdue_check": "INSERT INTO reporting.outstanding_payments (patient_id, invoice_id, amount_due, days_overdue, payment_status) VALUES ('pt_x', 'INV-1', 1, -1, 'overdue')",
    "outstanding_payments_payment_status_check": "INSERT INTO reporting.outstanding_payments (patient_id, invoice_id, amount_due, days_overdue, payment_status) VALUES ('pt_x', 'INV-1', 1, 1, 'late')",
    "etl_process_status_status_check": "INSERT INTO reporting.etl_process_status (process_name, status, started_at) VALUES ('job', 'done', now())",
    "etl_process_status_completed_at_check": "INSERT INTO reporting.etl_process_status (process_name, status, started_at, completed_at) VALUES ('job', 'completed', now(), now() - interval '1 hour')",
    "audit_log_fields_check": "INSERT INTO reporting.audit_log (user_id, action, resource_type) VALUES ('', 'materialize', 'asset')",
}
NOT_NULL_VIOLATIONS = {
    "patient_payment_history.patient_id": "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id) VALUES (NULL, '2026-01-01', 1, 'paid', 1)",
    "outstanding_payments.invoice_id": "INSERT INTO reporting.outstanding_payments (patient_id, invoice_id, amount_due, days_overdue, payment_status) VALUES ('pt_x', NULL, 1, 1, 'overdue')",
    "etl_process_status.started_at": "INSERT INTO reporting.etl_process_status (process_name, status, started_at) VALUES ('job', 'running', NULL)",
    "audit_log.user_id": "INSERT INTO reporting.audit_log (user_id, action, resource_type) VALUES (NULL, 'materialize', 'asset')",
}


def _execute(url, statement):
    conn = psycopg2.connect(libpq_dsn(url))
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize("constraint", sorted(VIOLATIONS))
def test_each_check_rejects_a_violating_row(database_url, constraint):
    with pytest.raises(psycopg2.errors.CheckViolation) as error:
        _execute(database_url, VIOLATIONS[constraint])
    assert error.value.diag.constraint_name == constraint


@pytest.mark.parametrize("column", sorted(NOT_NULL_VIOLATIONS))
def test_not_null_rules_reject_missing_values(database_url, column):
    with pytest.raises(psycopg2.errors.NotNullViolation):
        _execute(database_url, NOT_NULL_VIOLATIONS[column])


def test_idempotency_keys_reject_duplicates(database_url):
    _execute(database_url, "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES ('2026-01-01', 0, 0, 0)")
    with pytest.raises(psycopg2.errors.UniqueViolation):
        _execute(database_url, "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES ('2026-01-01', 0, 0, 0)")


def test_audit_rows_cannot_be_updated_or_deleted_outside_retention(database_url):
    _execute(database_url, "INSERT INTO reporting.audit_log (user_id, action, resource_type) VALUES ('local:test', 'materialize', 'asset')")
    with pytest.raises(psycopg2.errors.RaiseException, match="append-only"):
        _execute(database_url, "UPDATE reporting.audit_log SET user_id = 'someone'")
    with pytest.raises(psycopg2.errors.RaiseException, match="retention"):
        _execute(database_url, "DELETE FROM reporting.audit_log")
    with pytest.raises(psycopg2.errors.RaiseException):
        _execute(database_url, "TRUNCATE reporting.audit_log")
    _execute(database_url, "BEGIN; SET LOCAL reporting.retention_cleanup = 'on'; DELETE FROM reporting.audit_log; COMMIT;")
    assert query(database_url, "SELECT count(*) FROM reporting.audit_log")[0][0] == 0
