"""Distributed mode for real: the daemon splits a backfill into runs whose steps two Celery workers execute.

RabbitMQ at REPORTING_TEST_CELERY_BROKER_URL (default the machine's, pyamqp://guest@127.0.0.1//);
each test uses its own queue, so other workers on the broker never take its steps.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psutil
import pytest

from reporting_assets.source.sample_data import SampleSpec, generate_sample_database
from reporting_assets_tests.conftest import _temporary_database, make_resources, materialize_days, query

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BROKER = os.environ.get("REPORTING_TEST_CELERY_BROKER_URL", "pyamqp://guest@127.0.0.1//")
DAYS = 64
PER_RUN = 15
# every table the daily facts write, with the columns that depend on the run (ids, run ids, times) left out
TABLES = {
    "staging.payments": "source_payment_id, patient_id, invoice_id, source_invoice_id, payment_date, amount_cents, payment_status",
    "reporting.patient_payment_history": "patient_id, payment_date, amount, payment_status, invoice_id, source_payment_id",
    "reporting.revenue_metrics": "date_key, total_revenue, payment_count, average_payment",
    "reporting.quarantine": "source_table, source_id, asset_key, partition_key, reasons",
}


def table_contents(url: str) -> dict[str, list[tuple]]:
    return {table: query(url, f"SELECT {columns} FROM {table} ORDER BY {columns}") for table, columns in TABLES.items()}


def wait_for(predicate, timeout: float, what: str, every: float = 2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group it leads, SIGKILL what is left after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


class Cluster:
    """A Postgres-backed Dagster instance, its daemon and two Celery workers on one queue."""

    def __init__(self, tmp_path: Path, database_url: str, source: Path, start: dt.date):
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.queue = f"reporting-test-{uuid.uuid4().hex[:12]}"
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTING_", "DAGSTER_"))}
        self.env.update(
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # dagster-celery starts `celery` from the PATH
            DAGSTER_HOME=str(home),
            REPORTING_DAGSTER_STORAGE_URL=database_url,
            REPORTING_DATABASE_URL=database_url,
            REPORTING_SOURCE_DB=str(source),
            REPORTING_PSEUDONYM_KEY="test-pseudonym-key-0123456789abcdef",
            REPORTING_HOME=str(tmp_path / "home"),
            REPORTING_START_DATE=start.isoformat(),
            REPORTING_EXECUTOR="celery",
            REPORTING_CELERY_BROKER_URL=BROKER,
            REPORTING_CELERY_QUEUE=self.queue,
            REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN=str(PER_RUN),
        )
        self.processes: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.tmp_path / f"{name}.log", "w")
        process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def start_worker(self, name: str) -> None:
        # the repository's worker config (broker and backend), on this test's queue, one step at a time
        self.workers[name] = self._start(
            name,
            [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(REPO / "deploy/celery/worker.yaml"),
             "-q", self.queue, "-n", f"{name}-{self.queue}", "--", "--concurrency=1", f"--broker={BROKER}"],
        )

    def start_daemon(self) -> None:
        self._start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")])

    def step_processes(self, name: str) -> set[int]:
        """The pids that may execute a step on a worker: its celery pool processes."""
        try:
            return {child.pid for child in psutil.Process(self.workers[name].pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    def backfill(self, first: dt.date, last: dt.date) -> str:
        done = subprocess.run(
            [str(BIN / "reporting-admin"), "backfill", first.isoformat(), last.isoformat()],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=180,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()[2]  # "Requested backfill <id> of ..."

    def backfill_status(self, backfill_id: str) -> str | None:
        rows = query(self.database_url, "SELECT status FROM bulk_actions WHERE key = %s", (backfill_id,))
        return rows[0][0] if rows else None

    def step_starts(self) -> list[tuple[str, int]]:
        """(step key, pid) of every STEP_START in the event log."""
        rows = query(self.database_url, "SELECT event FROM event_logs WHERE dagster_event_type = 'STEP_START'")
        entries = [dg.deserialize_value(event, dg.EventLogEntry) for (event,) in rows]
        return [(entry.step_key, entry.pid) for entry in entries]

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop(process)


@pytest.fixture
def reference_database(pg_server_url, template_database) -> Iterator[str]:
    with _temporary_database(pg_server_url, "reporting_reference", template_database) as url:
        yield url


def sample_source(tmp_path: Path) -> tuple[Path, dt.date, dt.date]:
    """A clean sample source whose payments end yesterday; the backfill covers its last DAYS days."""
    today = dt.datetime.now(dt.timezone.utc).date()
    last = today - dt.timedelta(days=1)
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=500, payments=20_000, days=DAYS + 20, end_date=last)).path
    return source, last - dt.timedelta(days=DAYS - 1), last


@pytest.mark.slow
def test_celery_backfill_fans_out_over_two_workers_and_equals_a_single_run(database_url, reference_database, tmp_path):
    source, first, last = sample_source(tmp_path)
    cluster = Cluster(tmp_path, database_url, source, first - dt.timedelta(days=20))
    try:
        cluster.start_worker("worker-a")
        cluster.start_worker("worker-b")
        cluster.start_daemon()
        started = time.monotonic()
        backfill_id = cluster.backfill(first, last)
        wait_for(lambda: cluster.backfill_status(backfill_id) not in (None, "REQUESTED"), 900, f"backfill {backfill_id} to finish", every=5)
        print(f"{DAYS}-day backfill over two Celery workers: {time.monotonic() - started:.1f}s")
        assert cluster.backfill_status(backfill_id) == "COMPLETED_SUCCESS"

        runs = query(database_url, "SELECT status FROM runs WHERE run_body LIKE %s", (f"%{backfill_id}%",))
        assert len(runs) == -(-DAYS // PER_RUN) and {status for (status,) in runs} == {"SUCCESS"}
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
    distributed, single = table_contents(database_url), table_contents(reference_database)
    assert {table: len(rows) for table, rows in distributed.items()} == {table: len(rows) for table, rows in single.items()}
    assert len(single["reporting.revenue_metrics"]) == DAYS and len(single["reporting.patient_payment_history"]) > 1000
    assert distributed == single
