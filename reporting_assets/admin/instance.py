"""The local Dagster instance: DAGSTER_HOME in the state folder, storage in the reporting PostgreSQL, and `dagster dev` on it."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from dagster import DagsterEventType, EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._serdes import serialize_value
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine

from ..settings import ConfigError, Settings, normalize_database_url
from ..warehouse.database import resolve_database_url

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_DAGSTER_YAML = REPO_ROOT / "dagster.yaml"
STOP_GRACE_SECONDS = 30
# Dagster writes the materializations of a run over a range of partitions as one batch (two
# connections, one INSERT of the events and one of their tags) when DAGSTER_EVENT_BATCH_SIZE is
# set; unset, two connections and up to four statements per partition and asset. Three assets that do nothing, over
# 365 days: their steps took 13.94 s unbatched, 0.49 s batched (docs/benchmarks.md, "Sixth
# round"). DAGSTER_EVENT_BATCH_SIZE=0 in the environment opts out.
EVENT_BATCH_SIZE = "1000"


def prepare_dagster_home(settings: Settings) -> dict[str, str]:
    """Create DAGSTER_HOME with the repository's dagster.yaml; return the environment to run Dagster with."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_text() != REPO_DAGSTER_YAML.read_text():
        shutil.copyfile(REPO_DAGSTER_YAML, target)
    env = {"DAGSTER_HOME": str(home)}
    env["REPORTING_DAGSTER_STORAGE_URL"] = os.environ.get("REPORTING_DAGSTER_STORAGE_URL") or resolve_database_url(
        settings.database_url, settings.home
    )
    return env


def _default_signals() -> None:
    # a background job inherits SIGINT ignored; dagster dev must see it to shut down its children
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_dagster_dev(settings: Settings, host: str, port: int) -> int:
    """Run `dagster dev` until it exits; SIGTERM or SIGINT stop it and its webserver and daemon cleanly."""
    env = {**os.environ, **prepare_dagster_home(settings)}
    dagster = str(Path(sys.executable).with_name("dagster"))
    command = [dagster, "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", host, "-p", str(port)]
    print(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={env['DAGSTER_HOME']}); Ctrl-C or SIGTERM stops it.", flush=True)
    child = subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=_default_signals)
    stop_requested: list[float] = []

    def stop(signum, _frame) -> None:
        if not stop_requested:
            stop_requested.append(time.monotonic())
            os.killpg(child.pid, signal.SIGINT)  # dagster dev's own graceful shutdown

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            code = child.wait(timeout=0.5)
            return 0 if stop_requested else code
        except subprocess.TimeoutExpired:
            if stop_requested and time.monotonic() - stop_requested[0] > STOP_GRACE_SECONDS:
                os.killpg(child.pid, signal.SIGKILL)


class _PooledConnection:
    """A dagster-postgres storage that keeps one connection open between its statements.

    dagster-postgres opens a new connection for every read or write of its storages (SQLAlchemy's
    NullPool), except in the webserver, which it gives a pool: a run over 5 days of one asset
    opened 39. Here each storage keeps one connection (pool_size 1; more at once are opened and
    closed as before: no limit, no waiting), pinged before each use so that a connection the
    server dropped (a restart) is replaced instead of failing a statement. The one-day refresh
    on the 1M-payment benchmark took 2.06-2.14 s before and 1.45 s after (docs/benchmarks.md,
    "Fourteenth round").

    The pool is the process's, one per kind of storage and URL (_kept_connection_engine), not the
    instance's: a Celery worker creates an instance for every step and never disposes of it, so
    pools of their own would each keep connections until the garbage collector finds them.
    Disposing of any instance closes the kept connections; the next statement opens one again.
    """

    _engine: object
    postgres_url: str

    def __init__(self, postgres_url: str) -> None:
        super().__init__(postgres_url, should_autocreate_tables=True)  # the tables are created on a connection of its own
        self._engine = _kept_connection_engine(type(self).__name__, self.postgres_url)

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()


_ENGINES: dict[tuple[int, str, str], object] = {}
_ENGINES_LOCK = threading.Lock()


def _kept_connection_engine(kind: str, url: str):
    """The process's engine for one kind of storage at ``url``. Keyed by process id too: a process forked
    from one that used it gets its own (two processes on one connection would corrupt both)."""
    key = (os.getpid(), kind, url)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = create_pg_engine(url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=-1, pool_pre_ping=True)
        return _ENGINES[key]


class PooledRunStorage(_PooledConnection, PostgresRunStorage):
    """dagster-postgres's run storage, keeping its connection."""


class PooledScheduleStorage(_PooledConnection, PostgresScheduleStorage):
    """dagster-postgres's schedule and sensor storage, keeping its connection."""


class PlannedEventsInOneBatch(_PooledConnection, PostgresEventLogStorage):
    """dagster-postgres's event storage, writing a run's planned materializations as one batch.

    When a run over a range of days is created, Dagster plans one materialization per day and
    asset and hands them over in batches (DAGSTER_EVENT_BATCH_SIZE), but dagster-postgres 0.29
    batches only materializations and observations: it stores each planned one on its own, with
    two new connections. Over the 365 days of three assets that was 9.2 s of the README's
    range backfill (docs/benchmarks.md, "Twelfth round"). Here each run of consecutive planned
    materializations in a batch is one INSERT of the events, one of their tags and one update
    of each asset's row (its last planned event, as the event-by-event writes leave it), which
    is what dagster-postgres does for materializations (upstream: dagster-io/dagster#33831).
    Every other event is written as dagster-postgres writes it, in the batch's order.
    """

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        for planned, group in itertools.groupby(events, key=_is_planned_materialization):
            group = list(group)
            if planned and len(group) > 1:
                self._store_planned(group)
            else:
                super().store_event_batch(group)

    def _store_planned(self, events: list[EventLogEntry]) -> None:
        with self._connect() as conn:
            result = conn.execute(self.prepare_insert_event_batch(events).returning(SqlEventLogStorageTable.c.id))
            event_ids = [int(row[0]) for row in result.fetchall()]
        latest = {event.get_dagster_event().asset_key: (event, event_id) for event, event_id in zip(events, event_ids)}
        with self.index_transaction() as conn:
            self._store_asset_event_tags(conn, events, event_ids)
            for event, event_id in latest.values():
                self._store_asset_event(conn, event, event_id)

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        """A check planned over a range of days: a row per day, as dagster's SQL event log writes them, but the
        event serialized once and the rows inserted as one statement compiled once (dagster 1.13 serializes
        the event again for each day's row and compiles a new multi-row INSERT each time)."""
        planned = event.get_dagster_event().event_specific_data
        row = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        days = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert(), [{**row, "partition": day} for day in days])


def _is_planned_materialization(event: EventLogEntry) -> bool:
    return event.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED


class ReportingInstanceStorage(DagsterPostgresStorage):
    """Dagster's run, event and schedule storage in PostgreSQL, at REPORTING_DAGSTER_STORAGE_URL (dagster.yaml).

    The URL is a secret, so it comes from the environment only; without it every Dagster
    command says in one sentence what to set instead of a configuration traceback. Every process
    on this instance (CLI, webserver, daemon, run and Celery workers) loads it, so it is where
    batched event writes are turned on (EVENT_BATCH_SIZE, and PlannedEventsInOneBatch).
    """

    @classmethod
    def config_type(cls) -> dict:
        return {}

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> DagsterPostgresStorage:
        url = os.environ.get("REPORTING_DAGSTER_STORAGE_URL", "").strip()
        if not url:
            raise SystemExit(
                "REPORTING_DAGSTER_STORAGE_URL is not set: run `eval \"$(.venv/bin/reporting-admin env)\"` first "
                "(or set it to the PostgreSQL URL of Dagster's storage, see docs/deployment.md)."
            )
        try:
            url = normalize_database_url(url, "REPORTING_DAGSTER_STORAGE_URL")
        except ConfigError as exc:
            raise SystemExit(str(exc)) from None
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
        # its own three storages are replaced at once (not created, so no table check): these create the tables
        storage = DagsterPostgresStorage(inst_data=inst_data, postgres_url=url, should_autocreate_tables=False)
        storage._run_storage = PooledRunStorage(url)
        storage._event_log_storage = PlannedEventsInOneBatch(url)
        storage._schedule_storage = PooledScheduleStorage(url)
        return storage
