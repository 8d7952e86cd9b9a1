"""Test fixtures: a real PostgreSQL per test, hand-made billing sources and the platform's resources.

With REPORTING_TEST_DATABASE_URL set (CI: the local server), tests use that server;
unset, they start an embedded one (pgserver). Each test gets its own database cloned
from a migrated template, dropped afterwards, so parallel and repeated runs never collide.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import shutil
import sqlite3
import tempfile
import uuid
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from reporting_assets.definitions import build_definitions
from reporting_assets.defs.partitions import partition_range_tags
from reporting_assets.defs.resources import build_resources
from reporting_assets.settings import Settings, load_settings, normalize_database_url
from reporting_assets.source.contract import SOURCE_DDL
from reporting_assets.source.sample_data import SampleSpec, generate_sample_database
from reporting_assets.warehouse.database import fetch_all, libpq_dsn
from reporting_assets.warehouse.migrations import SQL_DIR, apply_migrations

TEST_KEY = "test-pseudonym-key-0123456789abcdef"
TODAY = dt.date(2026, 3, 20)  # the clinic's "today" in hand-computed scenarios

warnings.filterwarnings("ignore", category=dg.BetaWarning)


def _admin_execute(url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE) on a connection of its own: a
    session-long connection could be gone by the end of a 20-minute suite, leaving a database behind."""
    conn = psycopg2.connect(libpq_dsn(url))
    try:
        conn.autocommit = True
        conn.cursor().execute(statement)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server the tests may create databases on."""
    configured = os.environ.get("REPORTING_TEST_DATABASE_URL", "").strip()
    if configured:
        yield normalize_database_url(configured, "REPORTING_TEST_DATABASE_URL")
        return
    import pgserver

    pgdata = Path(tempfile.mkdtemp(prefix="reporting-test-pg-"))
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    try:
        yield normalize_database_url(server.get_uri())
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def template_database(pg_server_url: str) -> Iterator[str]:
    """A database with the reporting schema applied, cloned by every test."""
    name = f"reporting_tmpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin_execute(pg_server_url, f'CREATE DATABASE "{name}"')
    try:
        apply_migrations(make_url(pg_server_url).set(database=name).render_as_string(hide_password=False))
        yield name
    finally:
        _admin_execute(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def _temporary_database(server_url: str, prefix: str, template: str | None = None) -> Iterator[str]:
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    _admin_execute(server_url, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(pg_server_url: str, template_database: str) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    with _temporary_database(pg_server_url, "reporting_test", template_database) as url:
        yield url


@pytest.fixture
def reference_database(pg_server_url: str, template_database: str) -> Iterator[str]:
    """A second fresh, migrated database: where the same source is written the reference way."""
    with _temporary_database(pg_server_url, "reporting_reference", template_database) as url:
        yield url


@pytest.fixture
def empty_database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh database without the reporting schema (for migration tests)."""
    with _temporary_database(pg_server_url, "reporting_empty") as url:
        yield url


def query(url: str, statement: str, params: Sequence | dict | None = None) -> list[tuple]:
    return fetch_all(url, statement, params)


# every table the daily facts write, without the columns that depend on the run (ids, run ids, times)
DAILY_FACT_TABLES = {
    "staging.payments": "source_payment_id, patient_id, invoice_id, source_invoice_id, payment_date, amount_cents, payment_status",
    "reporting.patient_payment_history": "patient_id, payment_date, amount, payment_status, invoice_id, source_payment_id",
    "reporting.revenue_metrics": "date_key, total_revenue, payment_count, average_payment",
    "reporting.quarantine": "source_table, source_id, asset_key, partition_key, reasons",
}


def daily_facts_contents(url: str) -> dict[str, list[tuple]]:
    """Every row of the daily facts' tables, sorted: equal dicts mean equal tables, to the cent."""
    return {table: query(url, f"SELECT {columns} FROM {table} ORDER BY {columns}") for table, columns in DAILY_FACT_TABLES.items()}


# ------------------------------------------------------------------ billing sources
def recent_sample_source(tmp_path: Path, days: int, payments: int = 20_000) -> tuple[Path, dt.date]:
    """A clean generated source of ``days`` days of payments ending yesterday (UTC); returns it and yesterday."""
    yesterday = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    spec = SampleSpec(patients=500, payments=payments, days=days, end_date=yesterday)
    return generate_sample_database(tmp_path / "clinic.db", spec).path, yesterday
def ts(day: str) -> str:
    return f"{day}T09:00:00"


def write_source(
    path: Path,
    patients: Sequence[tuple] = (),
    invoices: Sequence[tuple] = (),
    payments: Sequence[tuple] = (),
) -> Path:
    """A billing database with the given rows.

    patients: (id, first_name, last_name, dob, ssn, email, phone, address, zip)
    invoices: (id, invoice_number, patient_id, issue_date, due_date, total_amount, status)
    payments: (id, invoice_id, patient_id, payment_date, amount, status, method)
    """
    conn = sqlite3.connect(path)
    conn.executescript(SOURCE_DDL)
    conn.executemany(
        "INSERT OR REPLACE INTO patients VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*p, ts("2026-01-01"), ts("2026-01-01")) for p in patients],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO invoices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*i, ts("2026-01-01"), ts("2026-01-01")) for i in invoices],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO payments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*p, ts("2026-01-01"), ts("2026-01-01")) for p in payments],
    )
    conn.commit()
    conn.close()
    return path


def fake_patient(pid: int) -> tuple:
    return (
        pid,
        f"Testfirst{pid:04d}",
        f"Fakelast{pid:04d}",
        f"1970-01-{(pid % 28) + 1:02d}",
        f"900-00-{pid:04d}",
        f"patient{pid:04d}@example.com",
        f"555-01{pid:02d}",
        f"{pid} Example Street",
        f"{pid:02d}9{pid:02d}",
    )


def pseudonym(patient_id: int, key: str = TEST_KEY) -> str:
    """The pseudonym SPEC section 3 defines, computed independently of the code under test."""
    return "pt_" + hmac.new(key.encode(), str(patient_id).encode(), hashlib.sha256).hexdigest()[:32]


def make_settings(database_url: str, source_path: Path, home: Path, **env: str | int) -> Settings:
    """Settings as the environment would give them: ``report_retention_days=10`` sets REPORTING_REPORT_RETENTION_DAYS."""
    environ = {
        "REPORTING_DATABASE_URL": database_url,
        "REPORTING_SOURCE_DB": str(source_path),
        "REPORTING_HOME": str(home),
        "REPORTING_PSEUDONYM_KEY": TEST_KEY,
        "REPORTING_START_DATE": "2025-01-01",
    }
    environ.update({f"REPORTING_{name.upper()}": str(value) for name, value in env.items()})
    return load_settings(environ)


def make_resources(database_url: str, source_path: Path, home: Path, today: dt.date = TODAY, **env: str | int) -> dict:
    """The platform's resources, built the one way the platform builds them, with the clinic's today pinned."""
    return build_resources(make_settings(database_url, source_path, home, **env), as_of=today)


def platform_assets(settings: Settings | None = None) -> list:
    """Every asset of the platform as build_definitions(settings) loads it (UTC clinic unless settings say otherwise)."""
    settings = settings or load_settings({"REPORTING_HOME": tempfile.gettempdir(), "REPORTING_PSEUDONYM_KEY": TEST_KEY})
    return list(build_definitions(settings).assets or [])


ASSETS = platform_assets()
DAILY = ["staged_payments", "patient_payment_history", "revenue_metrics"]
CURRENT = ["staged_invoices", "outstanding_payments"]


def materialize_days(resources: dict, first: str, last: str, instance: dg.DagsterInstance | None = None, selection=DAILY, raise_on_error=True):
    """One single-run backfill of the daily assets over first..last (inclusive)."""
    return dg.materialize(
        ASSETS,
        resources=resources,
        selection=selection,
        instance=instance,
        tags=partition_range_tags(dt.date.fromisoformat(first), dt.date.fromisoformat(last)),
        raise_on_error=raise_on_error,
    )


def materialize_current(resources: dict, instance: dg.DagsterInstance | None = None, raise_on_error=True):
    return dg.materialize(ASSETS, resources=resources, selection=CURRENT, instance=instance, raise_on_error=raise_on_error)


def migrate_up_to(url: str, last_version: int, folder: Path) -> None:
    """Apply only the migrations up to ``last_version`` (copied into ``folder``): a warehouse of an older release."""
    folder.mkdir()
    for path in SQL_DIR.glob("[0-9][0-9][0-9]_*.sql"):
        if int(path.name[:3]) <= last_version:
            shutil.copy(path, folder / path.name)
    apply_migrations(url, folder)
