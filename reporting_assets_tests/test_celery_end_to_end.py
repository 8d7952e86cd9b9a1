"""Distributed mode for real: the daemon splits a backfill into runs whose steps two Celery workers execute.

The machine's RabbitMQ (pyamqp://guest@127.0.0.1//, the broker of deploy/celery/worker.yaml);
each test uses its own queue, so other workers on the broker never take its steps.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import sqlite3
import time
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from bench.celery import PSEUDONYM_KEY, CeleryCluster
from reporting_assets.warehouse.database import libpq_dsn
from reporting_assets_tests.conftest import daily_facts_contents, make_resources, materialize_days, query, recent_sample_source

DAYS = 64
PER_RUN = 15


def sample_source(tmp_path: Path) -> tuple[Path, dt.date, dt.date]:
    """A clean sample source whose payments end yesterday; the backfill covers its last DAYS days."""
    source, last = recent_sample_source(tmp_path, DAYS + 20)
    return source, last - dt.timedelta(days=DAYS - 1), last


@pytest.mark.slow
def test_celery_backfill_fans_out_over_two_workers_and_equals_a_single_run(database_url, reference_database, tmp_path):
    source, first, last = sample_source(tmp_path)
    cluster = CeleryCluster(tmp_path, database_url, source, first - dt.timedelta(days=20), PER_RUN)
    try:
        cluster.start_worker("worker-a")
        cluster.start_worker("worker-b")
        cluster.start_daemon()
        started = time.monotonic()
        backfill_id = cluster.backfill(first, last)
        assert cluster.wait_for_backfill(backfill_id, timeout=900) == "COMPLETED_SUCCESS"
        print(f"{DAYS}-day backfill over two Celery workers: {time.monotonic() - started:.1f}s")

        runs = query(database_url, "SELECT status, run_body LIKE '%%asset_partition_range_start%%' FROM runs WHERE run_body LIKE %s", (f"%{backfill_id}%",))
        assert {status for status, _ in runs} == {"SUCCESS"}
        # the days in runs of PER_RUN, then the (unpartitioned) dimensions once, after them
        assert sum(1 for _, ranged in runs if ranged) == -(-DAYS // PER_RUN)
        starts = cluster.step_starts()
        steps = collections.Counter(step for step, _ in starts)
        facts = {"staged_payments", "patient_payment_history", "revenue_metrics"}
        assert {step: steps[step] for step in facts} == {step: -(-DAYS // PER_RUN) for step in facts}
        once = {step: n for step, n in steps.items() if step not in facts}  # the dimensions and their referential checks
        assert {"dim_date", "dim_patient", "dim_user"} <= set(once) and set(once.values()) == {1}
        # every step ran in a Celery pool process, and each worker ran some
        pids = {pid for _, pid in starts}
        on_a, on_b = pids & cluster.step_processes("worker-a"), pids & cluster.step_processes("worker-b")
        assert on_a and on_b and on_a | on_b == pids, (pids, on_a, on_b)
    finally:
        cluster.stop()

    # the same source, one in-process run over the whole range: the tables agree to the cent
    today = dt.datetime.now(dt.timezone.utc).date()
    resources = make_resources(reference_database, source, tmp_path / "reference", today=today, pseudonym_key=PSEUDONYM_KEY, start_date=(first - dt.timedelta(days=20)).isoformat())
    materialize_days(resources, first.isoformat(), last.isoformat())
    distributed, single = daily_facts_contents(database_url), daily_facts_contents(reference_database)
    assert {table: len(rows) for table, rows in distributed.items()} == {table: len(rows) for table, rows in single.items()}
    assert len(single["reporting.revenue_metrics"]) == DAYS and len(single["reporting.patient_payment_history"]) > 1000
    assert distributed == single


def days_contents(url: str, first: dt.date, last: dt.date) -> dict[str, list[tuple]]:
    """The reporting rows of first..last (inclusive), without run ids and times."""
    return {
        "patient_payment_history": query(
            url,
            "SELECT patient_id, payment_date, amount, payment_status, invoice_id, source_payment_id FROM reporting.patient_payment_history "
            "WHERE payment_date BETWEEN %s AND %s ORDER BY source_payment_id",
            (first, last),
        ),
        "revenue_metrics": query(
            url, "SELECT date_key, total_revenue, payment_count FROM reporting.revenue_metrics WHERE date_key BETWEEN %s AND %s ORDER BY 1", (first, last)
        ),
    }


@pytest.mark.slow
def test_a_worker_killed_while_it_holds_a_step_fails_its_run_keeps_the_old_rows_and_a_rerun_completes(database_url, reference_database, tmp_path):
    source, first, last = sample_source(tmp_path)
    start = first - dt.timedelta(days=20)
    today = dt.datetime.now(dt.timezone.utc).date()
    # the old rows: the whole range written once, before every paid amount changes in the source
    materialize_days(make_resources(database_url, source, tmp_path / "old", today=today, pseudonym_key=PSEUDONYM_KEY, start_date=start.isoformat()), first.isoformat(), last.isoformat())
    old = days_contents(database_url, first, last)
    with sqlite3.connect(source) as con:
        con.execute("UPDATE payments SET amount = amount + 1, updated_at = '2099-01-01T00:00:00'")

    cluster = CeleryCluster(tmp_path, database_url, source, start, PER_RUN)
    blocker = psycopg2.connect(libpq_dsn(database_url))
    try:
        cluster.start_worker("worker-a")
        cluster.start_worker("worker-b")
        cluster.start_daemon()
        # hold the writer's lock on the first day: the step staging it waits inside its transaction
        with blocker.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('staging.payments'), hashtext(%s))", (first.isoformat(),))
        backfill_id = cluster.backfill(first, last)
        held = wait_for_value(lambda: waiting_step_pid(database_url, first), 300, "the step of the first day waiting on the lock")
        assert held in cluster.step_processes("worker-a") | cluster.step_processes("worker-b")
        os.kill(held, signal.SIGKILL)  # the worker's pool process, mid-step
        blocker.rollback()
        status = cluster.wait_for_backfill(backfill_id, timeout=900)
        assert status in ("COMPLETED_FAILED", "FAILED"), status

        failed = query(database_url, "SELECT run_id FROM runs WHERE status = 'FAILURE' AND run_body LIKE %s", (f"%{backfill_id}%",))
        assert len(failed) == 1
        tags = dict(query(database_url, "SELECT key, value FROM run_tags WHERE run_id = %s", (failed[0][0],)))
        lost_first = dt.date.fromisoformat(tags["dagster/asset_partition_range_start"])
        lost_last = dt.date.fromisoformat(tags["dagster/asset_partition_range_end"])
        assert lost_first == first
        # the killed range has exactly its old rows; the other runs wrote the new amounts
        assert days_contents(database_url, lost_first, lost_last) == days_contents_of(old, lost_first, lost_last)
        assert days_contents(database_url, lost_last + dt.timedelta(days=1), last) != days_contents_of(old, lost_last + dt.timedelta(days=1), last)

        # a re-run of the lost range completes it
        assert cluster.wait_for_backfill(cluster.backfill(lost_first, lost_last), timeout=600) == "COMPLETED_SUCCESS"
    finally:
        blocker.close()
        cluster.stop()

    materialize_days(make_resources(reference_database, source, tmp_path / "reference", today=today, pseudonym_key=PSEUDONYM_KEY, start_date=start.isoformat()), first.isoformat(), last.isoformat())
    assert daily_facts_contents(database_url) == daily_facts_contents(reference_database)


def days_contents_of(contents: dict[str, list[tuple]], first: dt.date, last: dt.date) -> dict[str, list[tuple]]:
    return {
        "patient_payment_history": [row for row in contents["patient_payment_history"] if first <= row[1] <= last],
        "revenue_metrics": [row for row in contents["revenue_metrics"] if first <= row[0] <= last],
    }


def waiting_step_pid(database_url: str, first: dt.date) -> int | None:
    """The pid of the Celery pool process running staged_payments of the run starting at ``first``, once it waits on the lock."""
    if not query(database_url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'")[0][0]:
        return None
    started = query(
        database_url,
        "SELECT e.event FROM event_logs e JOIN run_tags t ON t.run_id = e.run_id "
        "WHERE t.key = 'dagster/asset_partition_range_start' AND t.value = %s "
        "AND e.dagster_event_type = 'STEP_START' AND e.step_key = 'staged_payments' AND NOT EXISTS ("
        " SELECT 1 FROM event_logs f WHERE f.run_id = e.run_id AND f.step_key = e.step_key AND f.dagster_event_type IN ('STEP_SUCCESS', 'STEP_FAILURE'))",
        (first.isoformat(),),
    )
    return dg.deserialize_value(started[0][0], dg.EventLogEntry).dagster_event.pid if len(started) == 1 else None


def wait_for_value(probe, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := probe()) is not None:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
