"""The full backfill fanned out over two Celery workers against one in-process single run, on the same source.

    .venv/bin/python -m bench.celery --payments 1000000 [--per-run 30] [--url postgresql://postgres@127.0.0.1:5432/postgres]

Needs RabbitMQ at pyamqp://guest@127.0.0.1// (deploy/celery/worker.yaml) and a PostgreSQL server on
which it may create two databases. Prints both times, their ratio, and whether the tables agree.
:class:`CeleryCluster` is also what the end-to-end test runs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PSEUDONYM_KEY = "bench-celery-pseudonym-key-0123456789"


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group it leads; after it exits (or 30 s), SIGKILL what is left of the group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


class CeleryCluster:
    """A Postgres-backed Dagster instance with its daemon, and Celery workers on a queue of their own."""

    def __init__(self, folder: Path, database_url: str, source: Path, start: dt.date, per_run: int):
        self.folder = folder
        self.database_url = database_url
        self.queue = f"reporting-{uuid.uuid4().hex[:12]}"  # other workers on the broker never take these steps
        home = folder / "dagster_home"
        home.mkdir()
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTING_", "DAGSTER_"))}
        self.env.update(
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # dagster-celery starts `celery` from the PATH
            DAGSTER_HOME=str(home),
            REPORTING_DAGSTER_STORAGE_URL=database_url,
            REPORTING_DATABASE_URL=database_url,
            REPORTING_SOURCE_DB=str(source),
            REPORTING_PSEUDONYM_KEY=PSEUDONYM_KEY,
            REPORTING_HOME=str(folder / "home"),
            REPORTING_START_DATE=start.isoformat(),
            REPORTING_EXECUTOR="celery",
            REPORTING_CELERY_QUEUE=self.queue,
            REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN=str(per_run),
            # the daemon also runs the schedules: twelve hours away, their daily runs never join the measured backfill
            REPORTING_SCHEDULE_TIME=(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12)).strftime("%H:%M"),
        )
        self.processes: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}
        # Dagster creates its tables on first use: once here, not by workers racing on a fresh database
        subprocess.run([str(BIN / "dagster"), "instance", "info"], cwd=REPO, env=self.env, capture_output=True, check=True, timeout=300)

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        with open(self.folder / f"{name}.log", "w") as log:
            process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def start_worker(self, name: str) -> None:
        """A worker as docs/deployment.md starts one, on this cluster's queue, one step at a time."""
        self.workers[name] = self._start(
            name,
            [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(REPO / "deploy/celery/worker.yaml"),
             "-q", self.queue, "-n", f"{name}-{self.queue}", "--", "--concurrency=1"],
        )

    def start_daemon(self) -> None:
        self._start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")])

    def step_processes(self, name: str) -> set[int]:
        """The pids that execute a worker's steps: its Celery pool processes."""
        try:
            return {child.pid for child in psutil.Process(self.workers[name].pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    def backfill(self, first: dt.date, last: dt.date) -> str:
        """`reporting-admin backfill FIRST LAST`; returns the backfill's id."""
        done = subprocess.run(
            [str(BIN / "reporting-admin"), "backfill", first.isoformat(), last.isoformat()],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"reporting-admin backfill failed: {done.stderr.strip()}")
        return done.stdout.split()[2]  # "Requested backfill <id> of ..."

    def backfill_status(self, backfill_id: str) -> str | None:
        rows = _query(self.database_url, "SELECT status FROM bulk_actions WHERE key = %s", (backfill_id,))
        return rows[0][0] if rows else None

    def wait_for_backfill(self, backfill_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (status := self.backfill_status(backfill_id)) in (None, "REQUESTED"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"backfill {backfill_id} still {status} after {timeout:.0f}s")
            time.sleep(2)
        return status

    def step_starts(self) -> list[tuple[str, int]]:
        """(step key, pid) of every STEP_START in the event log."""
        import dagster as dg

        rows = _query(self.database_url, "SELECT event FROM event_logs WHERE dagster_event_type = 'STEP_START'")
        entries = [dg.deserialize_value(event, dg.EventLogEntry) for (event,) in rows]
        return [(entry.step_key, entry.dagster_event.pid) for entry in entries]

    def where_the_time_went(self) -> dict[str, float]:
        """From the event log: runs, first run start to last run end, and seconds inside steps (summed over both workers)."""
        rows = _query(
            self.database_url,
            "SELECT dagster_event_type, run_id, step_key, extract(epoch FROM timestamp) FROM event_logs "
            # run events keep their old names in storage: PIPELINE_START is RUN_START
            "WHERE dagster_event_type IN ('PIPELINE_START', 'PIPELINE_SUCCESS', 'PIPELINE_FAILURE', 'STEP_START', 'STEP_SUCCESS')",
        )
        runs = {run for kind, run, _, _ in rows if kind == "PIPELINE_START"}
        run_times = [float(t) for kind, _, _, t in rows if kind.startswith("PIPELINE_")]
        starts = {(run, step): float(t) for kind, run, step, t in rows if kind == "STEP_START"}
        in_steps = sum(float(t) - starts[(run, step)] for kind, run, step, t in rows if kind == "STEP_SUCCESS" and (run, step) in starts)
        return {"runs": len(runs), "runs_span": max(run_times) - min(run_times), "in_steps": in_steps}

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop(process)


def _query(url: str, statement: str, params=None) -> list[tuple]:
    from reporting_assets.warehouse.database import fetch_all

    return fetch_all(url, statement, params)


def single_run(url: str, source: Path, folder: Path, start: dt.date, first: dt.date, last: dt.date) -> float:
    """The daily facts over first..last as one in-process run (today's default); returns seconds."""
    import dagster as dg

    from reporting_assets.definitions import build_definitions
    from reporting_assets.defs.partitions import partition_range_tags
    from reporting_assets.settings import load_settings

    settings = load_settings(
        {"REPORTING_DATABASE_URL": url, "REPORTING_SOURCE_DB": str(source), "REPORTING_HOME": str(folder),
         "REPORTING_PSEUDONYM_KEY": PSEUDONYM_KEY, "REPORTING_START_DATE": start.isoformat()}
    )
    job = build_definitions(settings).resolve_job_def("daily_facts_job")
    started = time.perf_counter()
    job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=partition_range_tags(first, last))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    from reporting_assets.settings import normalize_database_url
    from reporting_assets.source.sample_data import SampleSpec, generate_sample_database

    from .common import Server, fingerprint

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365, help="days of payments in the source, ending yesterday")
    parser.add_argument("--per-run", type=int, default=30, help="REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN of the fanned-out backfill")
    parser.add_argument("--url", default=os.environ.get("REPORTING_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args(argv)
    if not (BIN / "dagster-celery").exists():
        parser.error(f"{BIN / 'dagster-celery'} is missing: install the celery extra first with `.venv/bin/pip install -q -e '.[celery]'`")

    server = Server(normalize_database_url(args.url), embedded=False)
    folder = Path(tempfile.mkdtemp(prefix="bench-celery-"))
    last = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=args.days - 1)
    source = folder / "clinic.db"
    began = time.perf_counter()
    generate_sample_database(source, SampleSpec(patients=max(500, args.payments // 10), payments=args.payments, days=args.days, end_date=last))
    print(f"source: {args.payments:,} payments over {args.days} days ({time.perf_counter() - began:.1f}s to generate)", flush=True)
    _, single_url = server.create("celery_single")
    _, fanned_url = server.create("celery_fanned")
    try:
        single = single_run(single_url, source, folder / "single", first, first, last)
        print(f"single run, in-process: {single:.1f}s", flush=True)

        cluster = CeleryCluster(folder, fanned_url, source, first, args.per_run)
        try:
            cluster.start_worker("worker-a")
            cluster.start_worker("worker-b")
            cluster.start_daemon()
            began = time.perf_counter()
            status = cluster.wait_for_backfill(cluster.backfill(first, last), timeout=7200)
            fanned = time.perf_counter() - began
        finally:
            cluster.stop()
        processes = len({pid for _, pid in cluster.step_starts()})
        print(f"fanned out, 2 Celery workers, runs of {args.per_run} days: {fanned:.1f}s ({status}; steps in {processes} worker processes)")
        spent = cluster.where_the_time_went()
        print(
            f"  {spent['runs']} runs; first run start to last run end {spent['runs_span']:.1f}s; "
            f"inside steps {spent['in_steps']:.1f}s (both workers summed); before the first run and after the last: {fanned - spent['runs_span']:.1f}s"
        )
        print(f"ratio fanned/single: {fanned / single:.2f}")
        tables = ("patient_payment_history", "revenue_metrics")
        same = fingerprint(single_url, tables) == fingerprint(fanned_url, tables)
        print(f"tables equal: {same}")
        return 0 if same and status == "COMPLETED_SUCCESS" else 1
    finally:
        server.drop_all()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
