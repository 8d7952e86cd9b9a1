"""The real dagster-daemon on an instance stored in PostgreSQL: a source change reaches the reporting tables.

The latency is a benchmark figure, not an assertion; the timeout here is only a guard.
"""

import contextlib
import datetime as dt
import functools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reporting_assets_tests.conftest import TEST_KEY, fake_patient, query, write_source

REPO = Path(__file__).resolve().parents[1]


def wait_for(predicate, timeout, what, explain):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{explain()}")


def daemon_report(database_url, log):
    """What a timeout's message shows: the runs the daemon launched and the end of its log."""
    log.flush()
    has_runs = query(database_url, "SELECT to_regclass('public.runs') IS NOT NULL")[0][0]
    runs = query(database_url, "SELECT pipeline_name, status FROM runs ORDER BY create_timestamp") if has_runs else []
    return f"runs: {runs}\nthe daemon's log ends:\n{Path(log.name).read_text(errors='replace')[-6000:]}"


@pytest.mark.slow
def test_daemon_sensor_run_reflects_a_source_change(database_url, tmp_path):
    today = dt.datetime.now(dt.timezone.utc).date()
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    source = write_source(
        tmp_path / "clinic.db",
        [fake_patient(1)],
        [(10, "INV-2026-000010", 1, (today - dt.timedelta(days=40)).isoformat(), (today - dt.timedelta(days=10)).isoformat(), 500.0, "open")],
        [(1, 10, 1, yesterday, 10, "paid", "card")],
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTING_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        REPORTING_DAGSTER_STORAGE_URL=database_url,
        REPORTING_DATABASE_URL=database_url,
        REPORTING_SOURCE_DB=str(source),
        REPORTING_PSEUDONYM_KEY=TEST_KEY,
        REPORTING_HOME=str(tmp_path / "home"),
        REPORTING_SENSOR_INTERVAL_SECONDS="5",
    )
    daemon_bin = Path(sys.executable).with_name("dagster-daemon")
    log = open(tmp_path / "daemon.log", "w")
    explain = functools.partial(daemon_report, database_url, log)
    # its own process group: the code server it starts goes with it at the end
    daemon = subprocess.Popen(
        [str(daemon_bin), "run", "-w", str(REPO / "workspace.yaml")], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        # the sensor's first tick records the source's state as its baseline. Dagster stores a tick
        # as STARTED before it evaluates the sensor: the source changes only once the tick is done,
        # or the change would be part of the baseline and request nothing
        wait_for(
            lambda: query(database_url, "SELECT to_regclass('public.job_ticks') IS NOT NULL")[0][0]
            and query(
                database_url,
                "SELECT count(*) FROM job_ticks WHERE status = 'SKIPPED' AND tick_body LIKE %s",
                ("%Recorded the source's current state%",),
            )[0][0]
            > 0,
            180,
            "the first source_change_sensor tick to record the source's state",
            explain,
        )
        changed_at = time.monotonic()
        con = sqlite3.connect(source)
        con.execute("INSERT INTO payments VALUES (2, 10, 1, ?, 25.5, 'paid', 'ach', ?, ?)", (yesterday, f"{today}T23:59:58", f"{today}T23:59:58"))
        con.commit()
        con.close()
        wait_for(
            lambda: query(database_url, "SELECT count(*) FROM reporting.patient_payment_history WHERE source_payment_id = 2")[0][0] == 1
            and query(database_url, "SELECT count(*) FROM reporting.revenue_metrics WHERE date_key = %s AND payment_count = 2", (yesterday,))[0][0] == 1,
            300,
            "the new payment in patient_payment_history and revenue_metrics (one run, two steps)",
            explain,
        )
        print(f"source change to reporting table: {time.monotonic() - changed_at:.1f}s")
        revenue = query(database_url, "SELECT total_revenue, payment_count FROM reporting.revenue_metrics WHERE date_key = %s", (yesterday,))
        # the requested day is rebuilt whole: the payment already there and the new one
        assert [(float(t), c) for t, c in revenue] == [(35.5, 2)]
        wait_for(
            lambda: query(database_url, "SELECT count(*) FROM reporting.etl_process_status WHERE status = 'completed' AND process_name LIKE 'daily_facts_job%%'")[0][0] >= 1,
            120,
            "a completed etl_process_status row for the sensor's run",
            explain,
        )
        users = {r[0] for r in query(database_url, "SELECT user_id FROM reporting.audit_log WHERE action = 'materialize'")}
        assert "system:sensor:source_change_sensor" in users
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):  # the code server, had it outlived the daemon
            os.killpg(daemon.pid, signal.SIGKILL)
        log.close()
