"""Connections to the reporting database.

One function turns settings into a URL (embedded or configured) and one opens a
psycopg2 connection with the session settings every writer relies on (UTC).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import psycopg2.extensions
from sqlalchemy.engine import make_url

from ..settings import ConfigError, normalize_database_url
from .embedded import embedded_database_url


def resolve_database_url(database_url: str | None, home: Path) -> str:
    """The configured URL, or the embedded server's when none is configured."""
    if database_url:
        return normalize_database_url(database_url)
    return embedded_database_url(home / "pgdata")


def libpq_dsn(url: str) -> str:
    """A libpq connection string for psycopg2 from a SQLAlchemy-style URL (keeps sslmode etc.)."""
    parsed = make_url(url)
    parts: dict[str, str] = {}
    if parsed.host:
        parts["host"] = parsed.host
    if parsed.port:
        parts["port"] = str(parsed.port)
    if parsed.username:
        parts["user"] = parsed.username
    if parsed.password:
        parts["password"] = parsed.password
    if parsed.database:
        parts["dbname"] = parsed.database
    for key, value in parsed.query.items():
        parts[key] = value if isinstance(value, str) else value[-1]
    return " ".join(f"{k}='{_escape(v)}'" for k, v in parts.items())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def connect(url: str, *, application_name: str = "reporting_assets") -> psycopg2.extensions.connection:
    """Open a connection in UTC; unreachable servers raise ConfigError with one sentence."""
    try:
        conn = psycopg2.connect(libpq_dsn(url), application_name=application_name, connect_timeout=10)
    except psycopg2.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"Cannot connect to PostgreSQL at {redact(url)} ({first_line}); "
            "check REPORTING_DATABASE_URL and that the server is running."
        ) from None
    with conn.cursor() as cur:
        # no JIT: the platform's statements are short or scan-bound, and compiling them cost up to
        # a second each (measured on the 10M warehouse, docs/benchmarks.md)
        cur.execute("SET TIME ZONE 'UTC'; SET jit = off")
    conn.commit()
    return conn


@contextlib.contextmanager
def transaction(url: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection whose work commits on success and rolls back on any exception."""
    conn = connect(url)
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def fetch_all(url: str, statement: str, params=None) -> list[tuple]:
    """Run one statement in its own transaction and return its rows (none for statements without)."""
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []
