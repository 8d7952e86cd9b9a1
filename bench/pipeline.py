"""The pipeline's own measurements, run inside a ``bench.worker`` subprocess.

(a) full backfill in-process, (c) one-day refresh, (d) sensor tick, and (b) the same
backfill through the ``dagster asset materialize`` CLI.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import BENCH_KEY, CURRENT_ASSETS, DAILY_ASSETS, RETENTION_DAYS

SENSOR_NAME = "source_change_sensor"
CHANGED_ROWS = 1_000


def bench_settings(params: dict, source: str | None = None):
    """The platform's settings for a benchmark run, as its environment would give them."""
    from reporting_assets.settings import load_settings

    return load_settings(
        {
            "REPORTING_DATABASE_URL": params["url"],
            "REPORTING_SOURCE_DB": source or params["source"],
            "REPORTING_HOME": params["home"],
            "REPORTING_PSEUDONYM_KEY": BENCH_KEY,
            "REPORTING_TIMEZONE": "UTC",
            "REPORTING_REPORT_RETENTION_DAYS": str(RETENTION_DAYS),
        }
    )


def make_resources(params: dict, source: str | None = None) -> dict:
    from reporting_assets.defs.resources import build_resources

    return build_resources(bench_settings(params, source), as_of=dt.date.fromisoformat(params["as_of"]))


def _definitions(params: dict, source: str | None = None):
    from reporting_assets.definitions import build_definitions

    return build_definitions(bench_settings(params, source), as_of=dt.date.fromisoformat(params["as_of"]))


def _range_tags(first: str, last: str) -> dict[str, str]:
    from reporting_assets.defs.partitions import partition_range_tags

    return partition_range_tags(dt.date.fromisoformat(first), dt.date.fromisoformat(last))


def _start_profiler(params: dict, interval: float = 0.005):
    """A running pyinstrument profiler when ``params["profile"]`` names a report file, else None."""
    if not params.get("profile"):
        return None
    from pyinstrument import Profiler  # pip install pyinstrument (not a project dependency)

    profiler = Profiler(interval=interval)
    profiler.start()
    return profiler


def _save_profile(profiler, params: dict) -> None:
    """Write the report (summary + call tree), the HTML view and the raw session next to it."""
    if profiler is None:
        return
    profiler.stop()
    from .profile_summary import summarize

    report = Path(params["profile"])
    session = profiler.last_session
    session.save(str(report.with_suffix(".pyisession")))
    report.with_suffix(".html").write_text(profiler.output_html())
    report.write_text(summarize(session) + "\n\n" + profiler.output_text(unicode=False, color=False, show_all=False))


@contextlib.contextmanager
def repository_instance(params: dict):
    """The Dagster instance production runs on: the repository's dagster.yaml (run and event storage in
    PostgreSQL, here the benchmark's database), in a temporary DAGSTER_HOME, disposed at the end."""
    import dagster as dg

    from reporting_assets.admin.instance import REPO_DAGSTER_YAML

    home = tempfile.mkdtemp(prefix="bench-dagster-home-")
    shutil.copyfile(REPO_DAGSTER_YAML, Path(home) / "dagster.yaml")
    os.environ["REPORTING_DAGSTER_STORAGE_URL"] = params["url"]
    try:
        with dg.DagsterInstance.from_config(home) as instance:
            yield instance
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_jobs(params: dict) -> dict:
    """The daily job as one single-run backfill over first..last, then (optionally) the outstanding job."""
    defs = _definitions(params)
    daily = defs.resolve_job_def("daily_facts_job")
    current = defs.resolve_job_def("outstanding_job")

    # the instance the platform's runs use (not Dagster's in-memory test instance, whose event log
    # is SQLite); disposed at the end: bench.everyday runs many jobs in one process
    with repository_instance(params) as instance:
        profiler = _start_profiler(params)
        started = time.perf_counter()
        daily.execute_in_process(instance=instance, tags=_range_tags(params["first"], params["last"]), raise_on_error=True)
        daily_done = time.perf_counter()
        if params.get("outstanding", True):
            current.execute_in_process(instance=instance, raise_on_error=True)
        finished = time.perf_counter()
        _save_profile(profiler, params)
    parts = {"daily_facts_job": daily_done - started}
    if params.get("outstanding", True):
        parts["outstanding_job"] = finished - daily_done
    return {"seconds": finished - started, "parts": parts}


def run_cli(params: dict) -> dict:
    """The same backfill launched as `dagster asset materialize` processes (launch overhead included)."""
    dagster = str(Path(sys.executable).with_name("dagster"))
    dagster_home = tempfile.mkdtemp(prefix="bench-dagster-home-")
    env = dict(
        os.environ,
        REPORTING_DATABASE_URL=params["url"],
        REPORTING_SOURCE_DB=params["source"],
        REPORTING_PSEUDONYM_KEY=BENCH_KEY,
        DAGSTER_HOME=dagster_home,
    )
    if params.get("instance") == "postgres":
        # the repository's dagster.yaml: run and event storage in the (benchmark's) reporting database
        from reporting_assets.admin.instance import REPO_DAGSTER_YAML

        shutil.copyfile(REPO_DAGSTER_YAML, Path(dagster_home) / "dagster.yaml")
        env["REPORTING_DAGSTER_STORAGE_URL"] = params["url"]
    module = ["-m", "reporting_assets.definitions"]
    commands = {
        "daily_facts": [dagster, "asset", "materialize", *module, "--select", ",".join(DAILY_ASSETS),
                        "--partition-range", f"{params['first']}...{params['last']}"],
        "outstanding": [dagster, "asset", "materialize", *module, "--select", ",".join(CURRENT_ASSETS)],
    }
    parts = {}
    try:
        for name, command in commands.items():
            started = time.perf_counter()
            done = subprocess.run(command, env=env, cwd=params["cwd"], stdout=sys.stdout, stderr=sys.stderr)
            parts[name] = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"`{' '.join(command[1:])}` exited with status {done.returncode}")
    finally:
        shutil.rmtree(dagster_home, ignore_errors=True)
    return {
        "seconds": sum(parts.values()),
        "parts": parts,
        "commands": [" ".join(["dagster", *c[1:]]) for c in commands.values()],
        "children_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


# ------------------------------------------------------------------ (d) sensor tick
def find_sensor(params: dict, source: str | None = None, name: str = SENSOR_NAME):
    """The platform's source-change sensor, as build_definitions loads it."""
    for sensor in _definitions(params, source).sensors or []:
        if getattr(sensor, "name", None) == name:
            return sensor
    return None


def _touch_source(path: Path, end: dt.date, rows: int) -> None:
    """Simulate the billing application: change ``rows`` payments, move a few to another day, delete a few."""
    stamp = f"{(end + dt.timedelta(days=1)).isoformat()}T08:00:00"
    conn = sqlite3.connect(path)
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM payments ORDER BY id DESC LIMIT ?", (rows,))]
        conn.executemany(
            "UPDATE payments SET amount = amount + 1, updated_at = ? WHERE id = ?", [(stamp, i) for i in ids]
        )
        moved = (end - dt.timedelta(days=3)).isoformat()
        conn.executemany("UPDATE payments SET payment_date = ?, updated_at = ? WHERE id = ?", [(moved, stamp, i) for i in ids[:10]])
        conn.executemany("DELETE FROM payments WHERE id = ?", [(i,) for i in ids[-5:]])
        conn.commit()
    finally:
        conn.close()


def run_sensor(params: dict) -> dict:
    """Time evaluations of `source_change_sensor`: first tick, idle ticks, and a tick after source changes.

    Each tick is one ``sensor.evaluate_tick(build_sensor_context(instance=..., cursor=..., resources=...))``
    call against a copy of the source and a database already filled by the full backfill.
    """
    import dagster as dg

    workdir = Path(tempfile.mkdtemp(prefix="bench-sensor-"))
    instance = None
    try:
        source = workdir / "billing.db"
        shutil.copyfile(params["source"], source)  # the ticks may see changes: never touch the cached source
        resources = make_resources(params, source=str(source))
        defs = _definitions(params, source=str(source))
        sensor = find_sensor(params, source=str(source))
        instance = dg.DagsterInstance.ephemeral()

        def tick(cursor: str | None):
            try:
                context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs)
            except Exception:  # older signature / sensor without repository needs
                context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
            started = time.perf_counter()
            result = sensor.evaluate_tick(context)
            seconds = time.perf_counter() - started
            return seconds, result.cursor, len(result.run_requests or [])

        first, cursor, first_requests = tick(None)
        idle = []
        idle_cursor = cursor
        for _ in range(3):
            seconds, idle_cursor, idle_requests = tick(cursor)
            idle.append(seconds)
        _touch_source(source, dt.date.fromisoformat(params["as_of"]), CHANGED_ROWS)
        profiler = _start_profiler(params, interval=0.001)
        changed, _, changed_requests = tick(cursor)
        _save_profile(profiler, params)
        return {
            "available": True,
            "seconds": changed,
            "parts": {"first_tick": first, "idle_tick": statistics.median(idle), "tick_after_changes": changed},
            "run_requests": {"first": first_requests, "idle": idle_requests, "after_changes": changed_requests},
        }
    finally:
        if instance is not None:
            instance.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


def run_import_only(params: dict) -> dict:
    """Peak RSS of a process that only imports the pipeline: the floor under every RSS figure."""
    _definitions(params)
    return {"seconds": 0.0}


def run_asset(params: dict) -> dict:
    """One asset alone (its upstream already in the database): per-asset time and peak RSS."""
    import dagster as dg

    tags = _range_tags(params["first"], params["last"]) if params.get("partitioned") else None
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        dg.materialize(
            list(_definitions(params).assets),
            resources=make_resources(params),
            selection=[params["asset"]],
            instance=instance,
            tags=tags,
            raise_on_error=True,
        )
    return {"seconds": time.perf_counter() - started}
