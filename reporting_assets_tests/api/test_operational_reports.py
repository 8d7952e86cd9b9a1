"""Data health, ETL runs and the audit log as the API reports them; paging through each; a download cut short."""

from __future__ import annotations

import datetime as dt
import time

import httpx

from reporting_assets.warehouse.audit import append_audit
from reporting_assets.warehouse.database import transaction

T0 = dt.datetime(2026, 3, 20, 2, 0, 0)


def fill_operations(url: str) -> None:
    with transaction(url) as conn, conn.cursor() as cur:
        runs = [
            ("run-a", "assets:patient_payment_history,revenue_metrics,staged_payments [2026-03-18...2026-03-20]", "completed", T0, T0 + dt.timedelta(minutes=2), 120, None),
            ("run-b", "outstanding_job", "completed", T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=1, minutes=1), 40, None),
            ("run-c", "assets:revenue_metrics [2026-03-20]", "failed", T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=2, minutes=1), 0, "source file missing"),
        ]
        cur.executemany(
            "INSERT INTO reporting.etl_process_status (dagster_run_id, process_name, status, started_at, completed_at, records_processed, error_message) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            runs,
        )
        cur.execute(
            "INSERT INTO reporting.quarantine (source_table, source_id, asset_key, partition_key, dagster_run_id, reasons) VALUES "
            "('payments', 1, 'staged_payments', '2026-03-20', 'run-a', ARRAY['amount is not a number']), "
            "('payments', 2, 'staged_payments', '2026-03-20', 'run-a', ARRAY['amount is not a number', 'unknown status']), "
            "('invoices', 7, 'staged_invoices', NULL, 'run-b', ARRAY['no resolvable patient'])"
        )
    for resource_id, run_id in (("revenue_metrics/2026-03-18..2026-03-20", "run-a"), ("patient_payment_history/2026-03-18..2026-03-20", "run-a"), ("outstanding_payments", "run-b")):
        with transaction(url) as conn:
            append_audit(conn, user_id="system:schedule:daily", action="materialize", resource_type="asset", resource_id=resource_id, run_id=run_id)


def test_data_health_reports_freshness_latest_runs_and_quarantine_counts(api, database_url):
    fill_operations(database_url)
    body = api.user("aud", "auditor").get("/api/v1/data-health").json()
    tables = {t["table"]: t for t in body["tables"]}
    assert list(tables) == ["revenue_metrics", "patient_payment_history", "outstanding_payments"]
    # the failed run names revenue_metrics and started last: it is that table's latest run
    assert tables["revenue_metrics"]["latest_run"]["run_id"] == "run-c" and tables["revenue_metrics"]["latest_run"]["status"] == "failed"
    assert tables["patient_payment_history"]["latest_run"] == {"run_id": "run-a", "status": "completed", "started_at": "2026-03-20T02:00:00Z", "completed_at": "2026-03-20T02:02:00Z"}
    assert tables["outstanding_payments"]["latest_run"]["run_id"] == "run-b"
    assert all(t["last_refreshed_at"].endswith("Z") for t in body["tables"])
    assert body["quarantine"] == [
        {"source_table": "invoices", "reason": "no resolvable patient", "rows": 1},
        {"source_table": "payments", "reason": "amount is not a number", "rows": 2},
        {"source_table": "payments", "reason": "unknown status", "rows": 1},
    ]
    assert isinstance(body["failed_runs_last_7_days"], int)
    # finance reads the aging summary's as_of from the same freshness view
    assert api.user("fin", "finance").get("/api/v1/outstanding/aging").json()["as_of"] == dt.date.today().isoformat()


def test_etl_runs_page_newest_first_and_filter_by_status(api, database_url):
    fill_operations(database_url)
    client = api.user("fin", "finance")
    first = client.get("/api/v1/etl/runs", params={"limit": 2}).json()
    second = client.get("/api/v1/etl/runs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [r["run_id"] for r in first["items"] + second["items"]] == ["run-c", "run-b", "run-a"]
    assert second["next_cursor"] is None
    assert first["items"][0] == {
        "run_id": "run-c", "process_name": "assets:revenue_metrics [2026-03-20]", "status": "failed",
        "started_at": "2026-03-20T04:00:00Z", "completed_at": "2026-03-20T04:01:00Z", "records_processed": 0, "error_message": "source file missing",
    }
    assert [r["run_id"] for r in client.get("/api/v1/etl/runs", params={"status": "failed"}).json()["items"]] == ["run-c"]
    assert client.get("/api/v1/etl/runs.csv").text.splitlines()[0] == "run_id,process_name,status,started_at,completed_at,records_processed,error_message"


def test_the_audit_report_pages_through_every_row_once(api):
    client = api.user("aud", "auditor")
    for _ in range(5):
        client.get("/api/v1/etl/runs")
    seen, cursor = [], None
    while True:
        body = client.get("/api/v1/audit", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    ids = [row["id"] for row in seen]
    assert ids == sorted(set(ids), reverse=True)
    assert {row["action"] for row in seen} >= {"create_api_user", "login", "view_report"}
    mine = client.get("/api/v1/audit", params={"user_id": "api:aud", "action": "login"}).json()["items"]
    assert [(r["user_id"], r["action"], r["ip_address"]) for r in mine] == [("api:aud", "login", "127.0.0.1")]


def test_a_download_cut_short_is_audited_and_leaves_the_api_healthy(api, database_url):
    with transaction(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, invoice_id, source_payment_id) "
            "SELECT 'pt_' || lpad(to_hex(i % 500), 32, '0'), date '2026-01-01' + (i % 60), 12.50, 'paid', 'INV-' || i, i FROM generate_series(1, 60000) i"
        )
    api.add_user("bil", "billing")
    token = api.sign_in("bil")
    before = api.last_audit_id()
    for _ in range(12):  # more than the pool's 10 connections: none may leak
        with httpx.stream("GET", f"{api.base_url}/api/v1/payments.csv", headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status_code == 200
            next(response.iter_bytes())  # read a little, then hang up
    client = api.client(token)
    assert client.get("/api/v1/revenue").status_code == 200
    full = client.get("/api/v1/payments.csv")
    assert len(full.text.splitlines()) == 60001
    deadline = dt.datetime.now() + dt.timedelta(seconds=10)
    while dt.datetime.now() < deadline:
        exports = [r for r in api.audit_rows(before) if r["action"] == "export_data"]
        if len(exports) == 13:
            break
        time.sleep(0.1)  # the cut-short responses commit in their background task
    assert len(exports) == 13


def test_health_probes_answer_get_and_head(api):
    client = api.client()
    for path in ("/healthz", "/readyz"):
        assert client.get(path).status_code == 200
        head = client.head(path)
        assert head.status_code == 200 and head.content == b""


def test_every_operation_in_the_openapi_document_has_its_own_id(api):
    # generated clients name a method per operation id: two operations with one id break them
    document = api.client().get("/api/openapi.json").json()
    ids = [operation["operationId"] for path in document["paths"].values() for operation in path.values()]
    assert len(ids) == len(set(ids)) and len(ids) > 10
    assert set(document["paths"]["/healthz"]) == {"get"}  # HEAD answers (above) without a second documented operation
