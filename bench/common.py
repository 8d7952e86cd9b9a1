"""What every part of the benchmark shares: the sample cases, the cache folder and the databases."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.errors
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[1]
# Git-ignored (.reporting/ is in .gitignore): generated sources, exported floor rows, logs.
BENCH_HOME = REPO_ROOT / ".reporting" / "bench"

# A fixed end date (in the past) keeps cached sources valid across days and makes runs comparable.
END_DATE = dt.date(2026, 6, 30)
DAYS = 365
SEED = 7
BENCH_KEY = "bench-pseudonym-key-0123456789abcdef"  # not a secret: the sample patients are fake
RETENTION_DAYS = 36_500  # keep every generated day (the default 365 would drop days before the cut-off)

DAILY_ASSETS = ("staged_payments", "patient_payment_history", "revenue_metrics")
CURRENT_ASSETS = ("staged_invoices", "outstanding_payments")


@dataclass(frozen=True)
class Case:
    """One benchmark size: a clean generated billing database with ``payments`` payments."""

    payments: int
    seed: int = SEED
    days: int = DAYS
    end: dt.date = END_DATE

    @property
    def patients(self) -> int:
        return max(100, self.payments // 10)

    @property
    def first(self) -> dt.date:
        return self.end - dt.timedelta(days=self.days - 1)

    @property
    def key(self) -> str:
        return f"p{self.payments}_s{self.seed}_d{self.days}_e{self.end.isoformat()}_clean"

    @property
    def folder(self) -> Path:
        return BENCH_HOME / self.key

    @property
    def source(self) -> Path:
        return self.folder / "billing.db"


def worker_env(case: Case) -> dict[str, str]:
    """Environment of every measurement subprocess: no inherited REPORTING_* surprises."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTING_") and k != "DAGSTER_HOME"}
    env.update(
        {
            "REPORTING_HOME": str(BENCH_HOME / "home"),
            "REPORTING_START_DATE": case.first.isoformat(),  # the partitions must cover the sample's range
            "REPORTING_TIMEZONE": "UTC",
            "REPORTING_REPORT_RETENTION_DAYS": str(RETENTION_DAYS),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


# ------------------------------------------------------------------ databases
def admin_connect(server_url: str):
    from reporting_assets.warehouse.database import libpq_dsn

    conn = psycopg2.connect(libpq_dsn(server_url), connect_timeout=10)
    conn.autocommit = True
    return conn


def database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


class Server:
    """The PostgreSQL server the benchmark creates (and always drops) its databases on."""

    def __init__(self, url: str, embedded: bool) -> None:
        self.url = url
        self.embedded = embedded
        self._created: list[str] = []
        self._tag = f"bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._count = 0

    def create(self, label: str, *, template: str | None = None) -> tuple[str, str]:
        """A new database (migrated, or a copy of ``template``); returns (name, url)."""
        from reporting_assets.warehouse.migrations import apply_migrations

        self._count += 1
        name = f"{self._tag}_{self._count}_{label}"[:63]
        statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        conn = admin_connect(self.url)
        try:
            for attempt in range(20):
                try:
                    with conn.cursor() as cur:
                        cur.execute(statement)
                    break
                except psycopg2.errors.ObjectInUse:  # e.g. autovacuum still connected to the template
                    if attempt == 19:
                        raise
                    time.sleep(0.5)
        finally:
            conn.close()
        self._created.append(name)
        url = database_url(self.url, name)
        if not template:
            apply_migrations(url)
        return name, url

    def drop(self, name: str) -> None:
        conn = admin_connect(self.url)
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            conn.close()
        if name in self._created:
            self._created.remove(name)

    def drop_all(self) -> None:
        for name in list(self._created):
            try:
                self.drop(name)
            except Exception as exc:  # keep cleaning up the others
                print(f"warning: could not drop benchmark database {name}: {exc}")

    def version(self) -> str:
        conn = admin_connect(self.url)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW server_version")
                return cur.fetchone()[0]
        finally:
            conn.close()


def query(url: str, statement: str, params=None) -> list[tuple]:
    from reporting_assets.warehouse.database import fetch_all

    return fetch_all(url, statement, params)


# Order-independent fingerprints of the reporting tables, to check every method wrote the same rows.
FINGERPRINTS = {
    "patient_payment_history": (
        "SELECT count(*), coalesce(sum(amount), 0)::text, coalesce(sum(hashtext(concat_ws('|', patient_id, payment_date, "
        "amount, payment_status, coalesce(invoice_id, '-'), source_payment_id))::bigint), 0)::text "
        "FROM reporting.patient_payment_history"
    ),
    "revenue_metrics": (
        "SELECT count(*), coalesce(sum(total_revenue), 0)::text, coalesce(sum(hashtext(concat_ws('|', date_key, total_revenue, "
        "payment_count, average_payment))::bigint), 0)::text FROM reporting.revenue_metrics"
    ),
    "outstanding_payments": (
        "SELECT count(*), coalesce(sum(amount_due), 0)::text, coalesce(sum(hashtext(concat_ws('|', patient_id, invoice_id, "
        "amount_due, days_overdue, coalesce(last_payment_date::text, '-'), payment_status))::bigint), 0)::text "
        "FROM reporting.outstanding_payments"
    ),
}


def fingerprint(url: str, tables=tuple(FINGERPRINTS)) -> dict[str, tuple]:
    return {table: tuple(query(url, FINGERPRINTS[table])[0]) for table in tables}


def generate_source(params: dict) -> dict:
    """Worker kind ``generate``: the sample generator with ``messy=False`` (identical, valid input for all)."""
    import datetime as dt
    import time

    from reporting_assets.source.sample_data import SampleSpec, generate_sample_database

    started = time.perf_counter()
    spec = SampleSpec(
        patients=params["patients"], payments=params["payments"], days=params["days"], seed=params["seed"],
        messy=False, end_date=dt.date.fromisoformat(params["end"]),
    )
    generate_sample_database(params["path"], spec, overwrite=True)
    return {"seconds": time.perf_counter() - started}
