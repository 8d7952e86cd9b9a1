"""The second line of defence: with the API's role check bypassed, PostgreSQL's grants still refuse."""

from __future__ import annotations

import uuid

import psycopg2
import psycopg2.errors
import pytest
from psycopg2 import sql
from sqlalchemy.engine import make_url

from reporting_assets.api import deps
from reporting_assets.api.routes import outstanding, payments
from reporting_assets.api.accounts import save_api_user
from reporting_assets.warehouse.database import connect, fetch_all, libpq_dsn, transaction

PATIENT = "pt_" + "ab" * 16


def fill_patient_rows(url: str) -> None:
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, invoice_id, source_payment_id) "
            "VALUES (%s, '2026-03-01', 25.00, 'paid', 'INV-1', 1)",
            (PATIENT,),
        )
        cur.execute(
            "INSERT INTO reporting.outstanding_payments (patient_id, invoice_id, amount_due, days_overdue, payment_status) "
            "VALUES (%s, 'INV-2', 50.00, 45, 'overdue')",
            (PATIENT,),
        )


@pytest.mark.parametrize(
    ("query", "params"),
    [
        (payments.QUERY, {"patient_id": None, "start": None, "end": None, "status": None, "after_date": None, "after_id": None}),
        (outstanding.INVOICES_QUERY, {"status": None, "min_days": 0, "after_days": None, "after_invoice": None}),
        ("SELECT * FROM reporting.audit_log", {}),
        ("SELECT * FROM reporting.api_user", {}),
        ("SELECT * FROM reporting.quarantine", {}),
    ],
)
def test_the_finance_group_role_cannot_read_patient_level_rows(database_url, query, params):
    """The data functions' own SQL, run as reporting_api_finance, is refused by PostgreSQL."""
    fill_patient_rows(database_url)
    conn = connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE reporting_api_finance")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(query, params)
    finally:
        conn.rollback()
        conn.close()


def test_no_group_role_can_write_or_read_accounts(database_url):
    for role in ("finance", "billing", "auditor", "admin"):
        conn = connect(database_url)
        try:
            with conn.cursor() as cur:
                cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(f"reporting_api_{role}")))
                for statement in ("SELECT 1 FROM reporting.api_user", "DELETE FROM reporting.revenue_metrics", "INSERT INTO reporting.audit_log (user_id, action, resource_type) VALUES ('x', 'y', 'z')"):
                    cur.execute("SAVEPOINT s")
                    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                        cur.execute(statement)
                    cur.execute("ROLLBACK TO SAVEPOINT s")
        finally:
            conn.rollback()
            conn.close()


def test_an_api_that_forgot_its_role_check_still_leaks_nothing(api, database_url, monkeypatch):
    """A bug that lets finance past the API's check: the request gets 403 from PostgreSQL, no rows."""
    fill_patient_rows(database_url)
    client = api.user("fin", "finance")
    monkeypatch.setattr(deps, "may_read", lambda role, report: True)
    for path in ("/api/v1/payments", "/api/v1/outstanding", "/api/v1/audit", "/api/v1/payments.csv"):
        before = api.last_audit_id()
        response = client.get(path)
        assert response.status_code == 403, (path, response.text)
        assert PATIENT not in response.text
        assert api.audit_rows(before) == []  # the view_report row rolled back with the refused read
    assert client.get("/api/v1/revenue").status_code == 200


@pytest.fixture
def service_login(database_url):
    """A production-style login: member of reporting_api_service only, not a superuser."""
    name = f"api_login_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    admin = psycopg2.connect(libpq_dsn(database_url))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s IN ROLE reporting_api_service").format(sql.Identifier(name)), (password,))
    url = make_url(database_url).set(username=name, password=password).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
        admin.close()


def test_the_documented_service_login_runs_the_api_without_table_rights_of_its_own(database_url, service_login, start_api):
    fill_patient_rows(database_url)
    api = start_api(service_login)
    save_api_user(database_url, "bil", "billing", "a-long-test-password", actor="test:setup")  # accounts are the owner's job
    client = api.client(api.sign_in("bil"))
    assert client.get("/api/v1/payments").json()["items"][0]["patient_id"] == PATIENT
    assert client.get("/api/v1/audit").status_code == 403
    assert client.get("/readyz").json()["status"] == "ready"
    assert fetch_all(database_url, "SELECT count(*) FROM reporting.audit_log WHERE user_id = 'api:bil' AND action = 'view_report'")[0][0] == 1
    # outside SET ROLE the login itself reads no report table (NOINHERIT service role)
    conn = connect(service_login)
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("SELECT * FROM reporting.patient_payment_history")
    finally:
        conn.close()
