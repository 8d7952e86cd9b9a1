"""Numbered SQL migrations from ``sql/``, applied in order and recorded in reporting.schema_version.

Each file ``NNN_name.sql`` runs once, in its own transaction, under an advisory lock so
two processes starting together do not race. The files are written to be idempotent as
well, so re-applying the whole folder to a database changes nothing and loses nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg2.errors

from ..settings import ConfigError
from .database import connect

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
_MIGRATION_LOCK = 7_240_311  # arbitrary constant shared by every process of the platform
_FILE_PATTERN = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_applied_urls: set[str] = set()

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS reporting;
CREATE TABLE IF NOT EXISTS reporting.schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum CHAR(64) NOT NULL,
    applied_at TIMESTAMP NOT NULL DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')
);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations(sql_dir: Path = SQL_DIR) -> list[Migration]:
    if not sql_dir.is_dir():
        raise FileNotFoundError(f"The SQL folder {sql_dir} is missing; install the package from a full checkout of the repository.")
    migrations = []
    for path in sorted(sql_dir.iterdir()):
        match = _FILE_PATTERN.match(path.name)
        if match:
            migrations.append(Migration(int(match.group(1)), path.name, path.read_text()))
    return migrations


def apply_migrations(url: str, sql_dir: Path = SQL_DIR) -> list[str]:
    """Bring the schema to the newest version; return the names of the files applied now."""
    applied_now: list[str] = []
    conn = connect(url, application_name="reporting_assets.migrations")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
            try:
                cur.execute(f"DO $bootstrap$ BEGIN IF to_regclass('reporting.schema_version') IS NULL THEN {_BOOTSTRAP} END IF; END $bootstrap$")
                conn.commit()
                cur.execute("SELECT version FROM reporting.schema_version")
                done = {row[0] for row in cur.fetchall()}
                for migration in available_migrations(sql_dir):
                    if migration.version in done:
                        continue
                    try:
                        cur.execute(migration.sql)
                    except psycopg2.errors.InsufficientPrivilege:
                        raise ConfigError(
                            f"The reporting schema needs {migration.name}, which the connected role may not apply; "
                            "run `reporting-admin init-db` as the database owner first."
                        ) from None
                    cur.execute(
                        "INSERT INTO reporting.schema_version (version, name, checksum) VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                    conn.commit()
                    applied_now.append(migration.name)
            finally:
                conn.rollback()
                cur.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
                conn.commit()
    finally:
        conn.close()
    return applied_now


def ensure_schema(url: str) -> None:
    """Apply pending migrations once per process and URL (called before the first write)."""
    if url not in _applied_urls:
        apply_migrations(url)
        _applied_urls.add(url)


def schema_version(url: str) -> int | None:
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('reporting.schema_version') IS NOT NULL")
            if not cur.fetchone()[0]:
                return None
            cur.execute("SELECT max(version) FROM reporting.schema_version")
            return cur.fetchone()[0]
    finally:
        conn.close()
