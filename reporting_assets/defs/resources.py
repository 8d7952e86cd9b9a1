"""Dagster resources: the warehouse, the billing source, the pseudonym key and the reporting policy.

:func:`build_resources` is the one place they are built from :class:`Settings` (for the
Definitions, the tests, the benchmarks and the quickstart). Secrets (database URL with
password, pseudonym key) that come from the process environment reach them as ``dg.EnvVar``,
so their values never appear in run config, metadata or logs.
"""

import contextlib
import datetime as dt
import os
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg2.extensions
from pydantic import Field, PrivateAttr

from ..dates import clinic_today
from ..settings import ConfigError, Settings, normalize_database_url
from ..source import reader
from ..source.sample_data import ensure_sample_database
from ..staging.pseudonym import Pseudonymizer
from ..warehouse import database, migrations


class WarehouseResource(dg.ConfigurableResource):
    """The reporting PostgreSQL database (embedded server when ``database_url`` is empty)."""

    database_url: str = Field(default="", description="libpq/SQLAlchemy URL; empty starts the embedded server", repr=False)
    home: str = Field(default=".reporting", description="Local state folder holding the embedded server's data")

    _url: str | None = PrivateAttr(default=None)

    def url(self) -> str:
        if self._url is None:
            self._url = database.resolve_database_url(self.database_url or None, Path(self.home).resolve())
            migrations.ensure_schema(self._url)
        return self._url

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.connection]:
        """One transaction on an up-to-date schema: commit on success, roll back on any error."""
        with database.transaction(self.url()) as conn:
            yield conn

    def query(self, statement: str, params: tuple | dict | None = None) -> list[tuple]:
        with self.transaction() as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []


class BillingSourceResource(dg.ConfigurableResource):
    """The billing application's SQLite database, opened read-only."""

    path: str = Field(description="Path of the SQLite file")
    generate_sample_if_missing: bool = Field(
        default=False, description="Create the generated sample database when the file does not exist (local default only)"
    )

    @contextlib.contextmanager
    def open(self) -> Iterator[sqlite3.Connection]:
        path = Path(self.path)
        if self.generate_sample_if_missing:
            ensure_sample_database(path)
        with reader.open_source(path) as conn:
            yield conn


class PseudonymKeyResource(dg.ConfigurableResource):
    """The HMAC key behind patient pseudonyms: from the environment, a file, or a generated local key."""

    key: str = Field(default="", description="The key itself (use dg.EnvVar)", repr=False)
    key_file: str = Field(default="", description="A file holding the key")
    home: str = Field(default=".reporting", description="Where the generated local key is kept")

    def pseudonymizer(self) -> Pseudonymizer:
        return Pseudonymizer(self._key_bytes())

    def _key_bytes(self) -> bytes:
        if self.key:
            if len(self.key) < 16:
                raise ConfigError("REPORTING_PSEUDONYM_KEY is shorter than 16 characters; use at least 32 random characters (e.g. `openssl rand -hex 32`).")
            return self.key.encode()
        path = Path(self.key_file) if self.key_file else Path(self.home).resolve() / "pseudonym.key"
        if not path.exists():
            if self.key_file:
                raise ConfigError(f"REPORTING_PSEUDONYM_KEY_FILE points at {path}, which does not exist; create it or fix the path.")
            path.parent.mkdir(parents=True, exist_ok=True)
            # generated once, owner-only, and reused so pseudonyms stay stable across runs
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        value = path.read_text().strip()
        if len(value) < 16:
            raise ConfigError(f"The pseudonym key in {path} is shorter than 16 characters; put at least 32 random characters in it.")
        return value.encode()


class ReportingPolicyResource(dg.ConfigurableResource):
    """Business rules that are settings: clinic time zone, overdue thresholds, retention periods and the fiscal year."""

    timezone: str = "UTC"
    collection_days: int = 120
    write_off_days: int = 365
    report_retention_days: int = 365
    audit_retention_days: int = 365
    etl_status_retention_days: int = 183
    quarantine_retention_days: int = 365
    fiscal_year_start_month: int = Field(default=1, description="Month 1-12 the fiscal year starts in (dim_date)")
    as_of_date: str = Field(default="", description="Pin 'today' (YYYY-MM-DD) for reproducible runs; empty = the clinic's today")

    def today(self) -> dt.date:
        if self.as_of_date:
            return dt.date.fromisoformat(self.as_of_date)
        return clinic_today(self.timezone)

    def cutoff(self, retention_days: int) -> dt.date:
        """The oldest date a retention period of ``retention_days`` keeps."""
        return self.today() - dt.timedelta(days=retention_days)

    def report_cutoff(self) -> dt.date:
        """The oldest report date kept: partitions before it write nothing."""
        return self.cutoff(self.report_retention_days)

    def retention_cutoffs(self) -> dict[str, dt.date]:
        """The oldest date each retention period (warehouse.retention.PERIODS) keeps."""
        return {
            "report": self.report_cutoff(),
            "quarantine": self.cutoff(self.quarantine_retention_days),
            "etl_status": self.cutoff(self.etl_status_retention_days),
            "audit": self.cutoff(self.audit_retention_days),
        }


def _secret(name: str, value: str | None, normalize=lambda raw: raw) -> str | dg.EnvVar:
    """An EnvVar when the value is the process environment's (it never enters run config), else the value."""
    raw = os.environ.get(name, "").strip()
    if value and raw and normalize(raw) == value:
        return dg.EnvVar(name)
    return value or ""


def build_resources(settings: Settings, *, as_of: dt.date | None = None) -> dict[str, dg.ConfigurableResource]:
    """Every resource of the platform from the settings; ``as_of`` pins the clinic's today (tests, benchmarks)."""
    return {
        "warehouse": WarehouseResource(
            database_url=_secret("REPORTING_DATABASE_URL", settings.database_url, normalize_database_url),
            home=str(settings.home),
        ),
        "billing_source": BillingSourceResource(
            path=str(settings.effective_source_db), generate_sample_if_missing=settings.source_db is None
        ),
        "pseudonym_key": PseudonymKeyResource(
            key=_secret("REPORTING_PSEUDONYM_KEY", settings.pseudonym_key),
            key_file=str(settings.pseudonym_key_file or ""),
            home=str(settings.home),
        ),
        "policy": ReportingPolicyResource(
            timezone=settings.timezone,
            collection_days=settings.collection_days,
            write_off_days=settings.write_off_days,
            report_retention_days=settings.report_retention_days,
            audit_retention_days=settings.audit_retention_days,
            etl_status_retention_days=settings.etl_status_retention_days,
            quarantine_retention_days=settings.quarantine_retention_days,
            fiscal_year_start_month=settings.fiscal_year_start_month,
            as_of_date=as_of.isoformat() if as_of else "",
        ),
    }
