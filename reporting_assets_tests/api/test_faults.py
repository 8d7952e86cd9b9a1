"""Faults: no audit row means no data (503), and a database that goes away and comes back without restarting the API."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reporting_assets.warehouse.database import fetch_all
from reporting_assets.warehouse.embedded import embedded_database_url, stop_embedded_server
from reporting_assets.warehouse.migrations import apply_migrations

UNAVAILABLE = {"detail": "The reporting database is unavailable; try again shortly."}


def test_when_the_audit_row_cannot_be_written_no_data_is_served(api, database_url):
    client = api.user("admin_a", "admin")
    fetch_all(
        database_url,
        """
        CREATE FUNCTION reporting.refuse_reads() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit storage full'; END; $$;
        CREATE TRIGGER refuse_reads BEFORE INSERT ON reporting.audit_log
            FOR EACH ROW WHEN (NEW.action IN ('view_report', 'export_data')) EXECUTE FUNCTION reporting.refuse_reads();
        """,
    )
    for path in ("/api/v1/revenue", "/api/v1/revenue.csv", "/api/v1/audit", "/api/v1/outstanding/aging.csv"):
        response = client.get(path)
        assert response.status_code == 503 and response.json() == UNAVAILABLE, path
        assert "audit storage full" not in response.text
    assert fetch_all(database_url, "SELECT count(*) FROM reporting.audit_log WHERE action IN ('view_report', 'export_data')") == [(0,)]


def start_again(pgdata: Path) -> None:
    """Start the stopped server in place (pgserver keeps one handle per folder and process)."""
    import pgserver

    pgserver.get_server(pgdata, cleanup_mode=None).ensure_postgres_running()


@pytest.fixture
def stoppable_database(tmp_path: Path):
    """A throwaway PostgreSQL server (pgserver) of this test's own, which the test may stop and start."""
    pgdata = tmp_path / "pgdata"
    url = embedded_database_url(pgdata)
    apply_migrations(url)
    try:
        yield pgdata, url
    finally:
        stop_embedded_server(pgdata)


def test_the_api_rides_out_a_database_restart(stoppable_database, start_api):
    pgdata, url = stoppable_database
    api = start_api(url)
    client = api.user("fin", "finance")
    statuses: list[int] = []

    def burst(count: int) -> list[int]:
        got = [client.get("/api/v1/revenue", params={"start": "2026-03-01", "end": "2026-03-07"}).status_code for _ in range(count)]
        statuses.extend(got)
        return got

    assert burst(10) == [200] * 10
    stop_embedded_server(pgdata)
    down = burst(10)
    assert down == [503] * 10
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200  # the process itself is fine
    start_again(pgdata)
    deadline = time.monotonic() + 30
    while burst(1) != [200]:
        assert time.monotonic() < deadline, "the API did not reconnect"
        time.sleep(0.2)
    assert burst(10) == [200] * 10
    assert set(statuses) == {200, 503}
    audited = fetch_all(url, "SELECT count(*) FROM reporting.audit_log WHERE user_id = 'api:fin' AND action = 'view_report'")[0][0]
    assert audited == statuses.count(200)
