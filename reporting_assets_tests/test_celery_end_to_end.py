"""Distributed mode for real: the daemon splits a backfill into runs whose steps two Celery workers execute.

The machine's RabbitMQ (pyamqp://guest@127.0.0.1//, the broker of deploy/celery/worker.yaml);
each test uses its own queue, so other workers on the broker never take its steps.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from bench.celery import CeleryCluster
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

        runs = query(database_url, "SELECT status FROM runs WHERE run_body LIKE %s", (f"%{backfill_id}%",))
        assert len(runs) == -(-DAYS // PER_RUN) and {status for (status,) in runs} == {"SUCCESS"}
        # every step ran in a Celery pool process, and each worker ran some
        starts = cluster.step_starts()
        assert len(starts) == 3 * len(runs)
        pids = {pid for _, pid in starts}
        on_a, on_b = pids & cluster.step_processes("worker-a"), pids & cluster.step_processes("worker-b")
        assert on_a and on_b and on_a | on_b == pids, (pids, on_a, on_b)
    finally:
        cluster.stop()

    # the same source, one in-process run over the whole range: the tables agree to the cent
    today = dt.datetime.now(dt.timezone.utc).date()
    resources = make_resources(reference_database, source, tmp_path / "reference", today=today, start_date=(first - dt.timedelta(days=20)).isoformat())
    materialize_days(resources, first.isoformat(), last.isoformat())
    distributed, single = daily_facts_contents(database_url), daily_facts_contents(reference_database)
    assert {table: len(rows) for table, rows in distributed.items()} == {table: len(rows) for table, rows in single.items()}
    assert len(single["reporting.revenue_metrics"]) == DAYS and len(single["reporting.patient_payment_history"]) > 1000
    assert distributed == single
