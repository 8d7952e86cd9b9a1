"""Roles of sql/002_roles.sql in action: login users of each role connect and try every statement.

Roles are cluster-wide and outlive the per-test database, so every login user a test creates
has a unique name and is dropped by a finalizer. The group roles themselves may already exist
(the template database's migration created them); that is the normal case.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import dagster as dg
import psycopg2
import psycopg2.errors
import pytest
from psycopg2 import sql
from sqlalchemy.engine import make_url

from reporting_assets.admin import cli
from reporting_assets.settings import ConfigError
from reporting_assets.admin.access import create_login_user
from reporting_assets.warehouse.retention import apply_retention
from reporting_assets.defs.resources import PseudonymKeyResource, ReportingPolicyResource, WarehouseResource
from reporting_assets.warehouse import migrations
from reporting_assets.warehouse.database import libpq_dsn
from reporting_assets_tests.conftest import (
    fake_patient,
    make_resources,
    materialize_current,
    materialize_days,
    query,
    write_source,
)

PASSWORD = "Not-the-real-one-9f3b2c1a"
# sql/004_dimensions.sql: BI reads the calendar and patient dimensions, auditors the actors of audit_log
BI_TABLES = {
    "reporting.revenue_metrics", "reporting.patient_payment_history", "reporting.outstanding_payments",
    "reporting.dim_date", "reporting.dim_patient",
}  # fmt: skip
AUDITOR_TABLES = {"reporting.audit_log", "reporting.etl_process_status", "reporting.dim_user"}
# sql/003_api.sql: the data-health views derive from audit_log and quarantine (API roles only)
API_ONLY_VIEWS = {"reporting.quarantine_summary", "reporting.table_freshness"}
OPERATIONS = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")


# ------------------------------------------------------------------ helpers
def as_user(url: str, username: str, password: str | None = PASSWORD) -> str:
    """The same database, logged in as ``username`` (trust auth in tests: the password is not checked)."""
    return make_url(url).set(username=username, password=password).render_as_string(hide_password=False)


def connect(url: str, autocommit: bool = True):
    conn = psycopg2.connect(libpq_dsn(url))
    conn.autocommit = autocommit
    return conn


def refused(conn, statement, params=None) -> bool:
    """True when PostgreSQL refuses the statement for lack of privilege; other errors propagate."""
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
        return False
    except psycopg2.errors.InsufficientPrivilege:
        if not conn.autocommit:
            conn.rollback()
        return True


@pytest.fixture
def login_users(database_url: str):
    """Factory: create_login_user(...) with a unique name; every user is dropped afterwards."""
    created: list[str] = []

    def make(role: str, prefix: str = "t") -> str:
        name = f"{prefix}_{role}_{uuid.uuid4().hex[:10]}"
        created.append(name)
        create_login_user(database_url, name, role, PASSWORD, actor="test:access_control")
        return name

    yield make
    admin = connect(database_url)
    try:
        with admin.cursor() as cur:
            for name in created:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
                if cur.fetchone():
                    # anything the user owns or was granted in this database, then the cluster-wide role
                    cur.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(name)))
                    cur.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
                    cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
    finally:
        admin.close()


@pytest.fixture
def plain_login(database_url: str):
    """A login user in no platform role: what PUBLIC may do."""
    name = f"t_none_{uuid.uuid4().hex[:10]}"
    admin = connect(database_url)
    admin.cursor().execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    yield name
    admin.cursor().execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
    admin.close()


def relations(url: str) -> dict[str, tuple[str, str]]:
    """Every table and view of the reporting and staging schemas: name -> (kind, first column)."""
    rows = query(
        url,
        "SELECT t.table_schema || '.' || t.table_name, t.table_type, "
        "(SELECT c.column_name FROM information_schema.columns c WHERE c.table_schema = t.table_schema "
        " AND c.table_name = t.table_name ORDER BY c.ordinal_position LIMIT 1) "
        "FROM information_schema.tables t WHERE t.table_schema IN ('reporting', 'staging')",
    )
    return {name: (kind, column) for name, kind, column in rows}


def statement(table: str, column: str, operation: str) -> sql.Composed:
    # zero rows are touched: PostgreSQL checks privileges when the statement starts, before any row
    schema, name = table.split(".")
    target = sql.Identifier(schema, name)
    col = sql.Identifier(column)
    return {
        "SELECT": sql.SQL("SELECT * FROM {} LIMIT 0"),
        "INSERT": sql.SQL("INSERT INTO {} ({}) SELECT NULL WHERE false"),
        "UPDATE": sql.SQL("UPDATE {} SET {} = NULL WHERE false"),
        "DELETE": sql.SQL("DELETE FROM {} WHERE false"),
        "TRUNCATE": sql.SQL("TRUNCATE {}"),
    }[operation].format(target, col)


def expected_allowed(role: str, table: str, kind: str, operation: str) -> bool:
    """The access rules of SPEC section 8 and docs/security.md, for tables that exist now and later."""
    if operation == "TRUNCATE" or table == "reporting.api_user":
        return False  # TRUNCATE: only the owner, the pipeline deletes; API accounts: only the API's service role
    if role == "bi":
        return operation == "SELECT" and (table in BI_TABLES or (kind == "VIEW" and table.startswith("reporting.") and table not in API_ONLY_VIEWS))
    if role == "auditor":
        return operation == "SELECT" and table in AUDITOR_TABLES
    if role == "writer":
        if table == "reporting.audit_log":
            return operation != "UPDATE"  # DELETE only matters inside retention (trigger)
        if table == "reporting.schema_version":
            return operation == "SELECT"
        return kind == "BASE TABLE" or operation == "SELECT"
    return False


def snapshot_privileges(url: str) -> list[tuple]:
    """Grants, default privileges and role settings: what 002 is responsible for.

    Database-level privileges are compared by effect: CREATE DATABASE ... TEMPLATE does not copy
    the template's database grants, so in a cloned test database they are the defaults until 002 runs again.
    """
    return query(
        url,
        """
        SELECT 'rel', n.nspname || '.' || c.relname, c.relacl::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('reporting', 'staging')
        UNION ALL SELECT 'nsp', nspname, nspacl::text FROM pg_namespace WHERE nspname IN ('reporting', 'staging')
        UNION ALL SELECT 'default', defaclnamespace::regnamespace::text || '/' || defaclobjtype::text, defaclacl::text FROM pg_default_acl
        UNION ALL SELECT 'role', rolname, rolcanlogin::text FROM pg_roles WHERE rolname LIKE 'reporting\\_%'
        UNION ALL SELECT 'setting', r.rolname, s.setconfig::text FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
         WHERE r.rolname LIKE 'reporting\\_%'
        UNION ALL SELECT 'db', r.rolname, has_database_privilege(r.rolname, current_database(), 'CONNECT')::text
         || has_database_privilege(r.rolname, current_database(), 'TEMP')::text
         || has_database_privilege(r.rolname, current_database(), 'CREATE')::text FROM pg_roles r WHERE r.rolname LIKE 'reporting\\_%'
        ORDER BY 1, 2
        """,
    )


def insert_audit_row(url: str) -> None:
    query(url, "INSERT INTO reporting.audit_log (user_id, action, resource_type, resource_id) VALUES ('test', 'probe', 'table', 'x')")


# ------------------------------------------------------------------ the access matrix
@pytest.mark.parametrize("role", ["bi", "auditor", "writer", "none"])
def test_each_role_may_do_exactly_what_the_access_rules_say(role, database_url, login_users, request):
    name = request.getfixturevalue("plain_login") if role == "none" else login_users(role)
    tables = relations(database_url)
    assert BI_TABLES | AUDITOR_TABLES <= set(tables)
    conn = connect(as_user(database_url, name))
    try:
        actual, expected = {}, {}
        for table, (kind, column) in sorted(tables.items()):
            for operation in OPERATIONS if kind == "BASE TABLE" else ("SELECT",):
                actual[(table, operation)] = not refused(conn, statement(table, column, operation))
                expected[(table, operation)] = expected_allowed(role, table, kind, operation)
    finally:
        conn.close()
    wrong = {key: f"allowed={allowed}" for key, allowed in actual.items() if allowed != expected[key]}
    assert wrong == {}


def test_bi_and_auditor_users_find_the_reporting_tables_without_a_schema_prefix(database_url, login_users):
    users = {role: login_users(role) for role in ("bi", "auditor")}  # creating a user is itself an audit row
    query(database_url, "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES ('2026-03-01', 1, 1, 1), ('2026-03-02', 2, 1, 2)")
    insert_audit_row(database_url)
    expected = {table: query(database_url, f"SELECT count(*) FROM reporting.{table}")[0][0] for table in ("revenue_metrics", "audit_log")}
    assert expected["revenue_metrics"] == 2 and expected["audit_log"] >= 1
    for role, table in (("bi", "revenue_metrics"), ("auditor", "audit_log")):
        conn = connect(as_user(database_url, users[role]))
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT count(*) FROM {table}")  # unqualified: found through search_path
                assert cur.fetchone()[0] == expected[table], f"{role} sees another {table}"
        finally:
            conn.close()


# ------------------------------------------------------------------ audit_log is append-only
def test_nobody_can_update_audit_log_not_even_a_superuser(database_url, login_users):
    insert_audit_row(database_url)
    for role in ("bi", "auditor", "writer"):
        conn = connect(as_user(database_url, login_users(role)))
        try:
            assert refused(conn, "UPDATE reporting.audit_log SET action = 'tampered'"), role
        finally:
            conn.close()
    with pytest.raises(psycopg2.errors.RaiseException, match="append-only"):
        query(database_url, "UPDATE reporting.audit_log SET action = 'tampered'")
    assert query(database_url, "SELECT action FROM reporting.audit_log WHERE action <> 'grant_role'") == [("probe",)]


def test_audit_rows_are_deleted_only_by_the_writer_inside_retention(database_url, login_users):
    insert_audit_row(database_url)
    probes = "SELECT count(*) FROM reporting.audit_log WHERE action = 'probe'"
    writer = connect(as_user(database_url, login_users("writer")), autocommit=False)
    try:
        with pytest.raises(psycopg2.errors.RaiseException, match="retention job"):
            writer.cursor().execute("DELETE FROM reporting.audit_log WHERE action = 'probe'")
        writer.rollback()
        for role in ("bi", "auditor"):
            other = connect(as_user(database_url, login_users(role)), autocommit=False)
            try:
                other.cursor().execute("SET LOCAL reporting.retention_cleanup = 'on'")
                assert refused(other, "DELETE FROM reporting.audit_log WHERE action = 'probe'"), role
            finally:
                other.close()
        with pytest.raises(psycopg2.errors.RaiseException, match="retention job"):
            query(database_url, "DELETE FROM reporting.audit_log WHERE action = 'probe'")  # the superuser too
        assert query(database_url, probes) == [(1,)]

        with writer.cursor() as cur:
            cur.execute("SET LOCAL reporting.retention_cleanup = 'on'")
            cur.execute("DELETE FROM reporting.audit_log WHERE action = 'probe'")
            assert cur.rowcount == 1
        writer.commit()
    finally:
        writer.close()
    assert query(database_url, probes) == [(0,)]


def test_retention_runs_as_the_writer_and_removes_old_audit_rows(database_url, login_users):
    query(
        database_url,
        "INSERT INTO reporting.audit_log (user_id, action, resource_type, resource_id, timestamp) "
        "VALUES ('test', 'probe', 'table', 'old', '2020-01-01'), ('test', 'probe', 'table', 'new', '2026-03-19')",
    )
    writer = as_user(database_url, login_users("writer"))
    removed = apply_retention(writer, ReportingPolicyResource(as_of_date="2026-03-20").retention_cutoffs(), "test:retention", None)
    assert removed["reporting.audit_log"] == 1
    assert query(database_url, "SELECT resource_id FROM reporting.audit_log WHERE action = 'probe'") == [("new",)]
    logged = query(database_url, "SELECT count(*) FROM reporting.audit_log WHERE action = 'retention_cleanup' AND user_id = 'test:retention'")
    assert logged == [(len(removed),)]


def test_bi_cannot_insert_into_audit_log_nor_read_it(database_url, login_users):
    conn = connect(as_user(database_url, login_users("bi")))
    try:
        assert refused(conn, "INSERT INTO reporting.audit_log (user_id, action, resource_type) VALUES ('bi', 'forged', 'asset')")
        assert refused(conn, "SELECT * FROM reporting.audit_log")
        assert refused(conn, "SELECT * FROM reporting.quarantine")
    finally:
        conn.close()
    assert query(database_url, "SELECT count(*) FROM reporting.audit_log WHERE action = 'forged'") == [(0,)]


# ------------------------------------------------------------------ the pipeline as the writer
def test_the_pipeline_runs_as_the_writer_login_not_a_superuser(database_url, login_users, tmp_path):
    writer = login_users("writer")
    writer_url = as_user(database_url, writer)
    conn = connect(writer_url)
    with conn.cursor() as cur:
        cur.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == (writer, False)
    conn.close()
    source = write_source(
        tmp_path / "clinic.db",
        [fake_patient(1), fake_patient(2)],
        [(10, "INV-2026-000010", 1, "2026-01-01", "2026-01-31", 100.00, "open")],
        [(100, 10, 1, "2026-03-02", "10.005", "paid", "card"), (101, 10, None, "2026-03-03", 5, "PAID", None), (102, 10, 1, "2026-03-03", "abc", "paid", None)],
    )
    resources = make_resources(writer_url, source, tmp_path / "home")
    assert materialize_days(resources, "2026-03-01", "2026-03-05").success
    assert materialize_current(resources).success
    assert query(database_url, "SELECT source_payment_id FROM reporting.patient_payment_history ORDER BY 1") == [(100,), (101,)]
    assert query(database_url, "SELECT count(*) FROM reporting.revenue_metrics") == [(5,)]
    assert query(database_url, "SELECT invoice_id FROM reporting.outstanding_payments") == [("INV-2026-000010",)]
    assert query(database_url, "SELECT source_id FROM reporting.quarantine") == [(102,)]
    audited = query(database_url, "SELECT resource_id FROM reporting.audit_log WHERE action = 'materialize' ORDER BY id")
    assert [r[0].split("/")[0] for r in audited] == ["patient_payment_history", "revenue_metrics", "outstanding_payments"]


def test_the_writer_login_loads_an_empty_table_with_its_indexes_built_after_the_rows(database_url, login_users):
    """The writer may not run DDL; sql/015's functions, run as the owner, drop and build the indexes of a table it fills."""
    from reporting_assets_tests.test_writer import DAY, HISTORY, history, indexes, payments
    from reporting_assets.warehouse.database import transaction
    from reporting_assets.warehouse.writer import replace_window

    writer_url = as_user(database_url, login_users("writer"))
    before = indexes(database_url)
    with transaction(writer_url) as conn:
        replace_window(conn, HISTORY, [payments([1, 2])], DAY, run_id="r1")
    loaded = indexes(database_url)
    assert {name: d for name, (_, d) in loaded.items()} == {name: d for name, (_, d) in before.items()}
    assert sum(loaded[name][0] != before[name][0] for name in before) == 3  # the seed's secondary indexes, built anew
    assert [r[0] for r in history(database_url)] == [1, 2]
    assert query(database_url, "SELECT count(*) FROM first_load.dropped_indexes") == [(0,)]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT staging.begin_first_load('reporting.schema_version'::regclass)",  # a table the writer may only read
        "SELECT staging.begin_first_load('reporting.api_user'::regclass)",  # one it may not touch
        "SELECT staging.begin_first_load('public.probe'::regclass)",  # a table outside the platform's schemas
        "SELECT staging.begin_first_load('staging.probe'::regclass)",  # one the writer may fill but not empty
        "SELECT * FROM first_load.dropped_indexes",
        "INSERT INTO first_load.dropped_indexes VALUES (0, 'DROP TABLE reporting.audit_log')",
    ],
)
def test_the_writer_may_not_use_the_first_load_on_other_tables_nor_its_definitions(statement, database_url, login_users):
    query(
        database_url,
        "CREATE TABLE public.probe (id INT); GRANT ALL ON public.probe TO reporting_writer; "
        "CREATE TABLE staging.probe (id INT); REVOKE DELETE ON staging.probe FROM reporting_writer",
    )
    conn = connect(as_user(database_url, login_users("writer")))
    try:
        assert refused(conn, statement)
    finally:
        conn.close()


# ------------------------------------------------------------------ create-user
def test_create_user_records_the_grant_in_audit_log(database_url, login_users):
    name = login_users("auditor")
    rows = query(
        database_url,
        "SELECT user_id, action, resource_type, resource_id, details FROM reporting.audit_log WHERE action = 'grant_role'",
    )
    assert rows == [("test:access_control", "grant_role", "role", "reporting_auditor", f"login user {name} created")]
    members = query(
        database_url,
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
        (name,),
    )
    assert members == [("reporting_auditor",)]
    stored = query(database_url, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (name,))[0][0]
    assert stored.startswith("SCRAM-SHA-256$") and PASSWORD not in stored


def test_create_user_again_changes_password_and_role_and_audits_both(database_url, login_users):
    name = login_users("bi")
    assert create_login_user(database_url, name, "writer", PASSWORD + "-rotated", actor="test:again") is False
    rows = query(database_url, "SELECT user_id, action, resource_id FROM reporting.audit_log WHERE user_id = 'test:again' ORDER BY id")
    assert rows == [("test:again", "revoke_role", "reporting_bi"), ("test:again", "grant_role", "reporting_writer")]
    members = query(
        database_url,
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
        (name,),
    )
    assert members == [("reporting_writer",)]


def test_create_user_cli_reads_the_password_from_the_environment(database_url, monkeypatch, tmp_path, capsys):
    name = f"t_cli_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("REPORTING_DATABASE_URL", database_url)
    monkeypatch.setenv("REPORTING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REPORTING_NEW_USER_PASSWORD", PASSWORD)
    try:
        assert cli.main(["create-user", name, "--role", "bi"]) == 0
        out = capsys.readouterr()
        assert f"Created login user {name} in role reporting_bi" in out.out and PASSWORD not in out.out + out.err
        assert query(database_url, "SELECT resource_id, details FROM reporting.audit_log WHERE action = 'grant_role'") == [
            ("reporting_bi", f"login user {name} created")
        ]
        monkeypatch.setenv("REPORTING_NEW_USER_PASSWORD", "short")
        assert cli.main(["create-user", name, "--role", "bi"]) == 2
        assert capsys.readouterr().err.strip() == (
            "reporting-admin: The password is shorter than 12 characters; use a long random one (e.g. `openssl rand -base64 24`)."
        )
    finally:
        admin = connect(database_url)
        admin.cursor().execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        admin.close()


@pytest.mark.parametrize(
    ("username", "role", "password", "message"),
    [
        ("Robert'); DROP TABLE x;--", "bi", PASSWORD, "is not allowed"),
        ("9lives", "bi", PASSWORD, "is not allowed"),
        ("a" * 64, "bi", PASSWORD, "is not allowed"),
        ("pg_sneaky", "bi", PASSWORD, "is reserved"),
        ("reporting_writer", "bi", PASSWORD, "is reserved"),
        ("analyst", "superuser", PASSWORD, "is not a platform role"),
        ("analyst", "bi", "short", "shorter than 12 characters"),
    ],
)
def test_create_user_rejects_bad_names_roles_and_passwords(username, role, password, message, database_url):
    with pytest.raises(ConfigError, match=message):
        create_login_user(database_url, username, role, password)
    if username != "reporting_writer":
        assert query(database_url, "SELECT count(*) FROM pg_roles WHERE rolname = %s", (username,)) == [(0,)]
    assert query(database_url, "SELECT count(*) FROM reporting.audit_log") == [(0,)]


def test_create_user_refuses_to_touch_a_superuser(database_url):
    superuser = query(database_url, "SELECT current_user")[0][0]
    with pytest.raises(ConfigError, match="privileged account or a group role"):
        create_login_user(database_url, superuser, "bi", PASSWORD)
    assert query(database_url, "SELECT count(*) FROM reporting.audit_log") == [(0,)]


def test_create_user_needs_an_account_that_may_create_roles(database_url, login_users):
    writer_url = as_user(database_url, login_users("writer"))
    with pytest.raises(ConfigError, match="may not create roles") as raised:
        create_login_user(writer_url, f"t_escalate_{uuid.uuid4().hex[:8]}", "writer", PASSWORD)
    assert PASSWORD not in str(raised.value)
    assert query(database_url, "SELECT count(*) FROM pg_roles WHERE rolname LIKE 't\\_escalate\\_%'") == [(0,)]


# ------------------------------------------------------------------ idempotent migrations
def test_reapplying_the_migrations_and_002_itself_changes_nothing(database_url):
    before = snapshot_privileges(database_url)
    assert migrations.apply_migrations(database_url) == []
    assert snapshot_privileges(database_url) == before
    # 002 and the files after it, whose grants and revokes build on 002's
    roles_sql = "".join(migration.sql for migration in migrations.available_migrations() if migration.version >= 2)
    for _ in range(2):
        conn = connect(database_url, autocommit=False)
        try:
            conn.cursor().execute(roles_sql)  # as the runner does: the whole file, one transaction
            conn.commit()
        finally:
            conn.close()
    assert snapshot_privileges(database_url) == before


def test_a_new_database_migrates_when_the_roles_already_exist(empty_database_url, database_url):
    assert query(database_url, "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'reporting\\_%'")[0][0] >= 3
    assert migrations.apply_migrations(empty_database_url) == [migration.name for migration in migrations.available_migrations()]
    bi_tables = query(
        empty_database_url,
        "SELECT table_schema || '.' || table_name FROM information_schema.role_table_grants WHERE grantee = 'reporting_bi' ORDER BY 1",
    )
    # the reporting facts, and the business-figure views of sql/003_api.sql
    assert {r[0] for r in bi_tables} == BI_TABLES | {"reporting.revenue_weekly", "reporting.revenue_monthly", "reporting.ar_aging"}


def test_tables_created_later_are_writable_by_the_writer_only(database_url, login_users):
    query(database_url, "CREATE TABLE reporting.later_export (id SERIAL PRIMARY KEY, note TEXT)")
    writer = connect(as_user(database_url, login_users("writer")))
    bi = connect(as_user(database_url, login_users("bi")))
    try:
        with writer.cursor() as cur:
            cur.execute("INSERT INTO reporting.later_export (note) VALUES ('ok') RETURNING id")
            assert cur.fetchone() == (1,)
        assert refused(bi, "SELECT * FROM reporting.later_export")
    finally:
        writer.close()
        bi.close()


# ------------------------------------------------------------------ secrets hygiene
def test_secrets_never_reach_logs_event_log_or_repr(database_url, tmp_path, capfd, caplog):
    password = f"pw-{uuid.uuid4().hex}"
    key = f"key-{uuid.uuid4().hex}"
    url_with_password = make_url(database_url).set(password=password).render_as_string(hide_password=False)
    source = write_source(
        tmp_path / "clinic.db",
        [fake_patient(1)],
        [(10, "INV-2026-000010", 1, "2026-01-01", "2026-01-31", 100.00, "open")],
        [(100, 10, 1, "2026-03-02", 10, "paid", "card"), (101, 10, 1, "2026-03-02", "oops", "paid", None)],
    )
    resources = make_resources(url_with_password, source, tmp_path / "home")
    resources["pseudonym_key"] = PseudonymKeyResource(key=key, home=str(tmp_path / "home"))
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
        assert materialize_days(resources, "2026-03-01", "2026-03-03", instance=instance).success
        assert materialize_current(resources, instance=instance).success
        # a failing connection: its error message is in the event log too
        unreachable = make_url(url_with_password).set(host="127.0.0.1", port=1).render_as_string(hide_password=False)
        failed = materialize_current({**resources, "warehouse": WarehouseResource(database_url=unreachable, home=str(tmp_path / "home"))}, instance=instance, raise_on_error=False)
        assert not failed.success
        events = "\n".join(repr(record) for run in instance.get_runs() for record in instance.all_logs(run.run_id))
        runs = "\n".join(repr(run) for run in instance.get_runs())
    written = b"".join(p.read_bytes() for p in Path(dagster_home).rglob("*") if p.is_file())
    captured = capfd.readouterr()
    texts = {
        "event log": events,
        "run records": runs,
        "files under DAGSTER_HOME (event log db, compute logs)": written.decode("utf-8", "replace"),
        "stdout/stderr": captured.out + captured.err,
        "python logging": caplog.text,
        "resource reprs": "".join(repr(r) + str(r) for r in resources.values()),
    }
    assert "Cannot connect to PostgreSQL" in events  # the failure really is in there
    for where, text in texts.items():
        assert password not in text, where
        assert key not in text, where
