"""Read-only access to the billing database: only the columns the reports need, in bounded chunks.

The file is opened with ``mode=ro`` so the billing application is never locked out;
no patient name, SSN, birth date or contact detail is ever selected.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..settings import ConfigError
from .contract import INVOICE_COLUMNS, PAYMENT_COLUMNS

CHUNK_ROWS = 100_000
# Text that is exactly an ISO date or an ISO timestamp without fraction; anything else may
# fail to parse and is checked row by row (see undated_payment_candidates). SQLite's date()
# normalizes impossible days only with a modifier: date('2026-02-31', '+0 days') = '2026-03-03'.
_CANONICAL = (
    "payment_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]' OR "
    "payment_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]'"
)


@contextlib.contextmanager
def open_source(path: Path | str) -> Iterator[sqlite3.Connection]:
    """Open the billing database read-only; a missing or unreadable file raises ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"The billing database {path} does not exist; set REPORTING_SOURCE_DB to the application's SQLite file "
            "or unset it to use generated sample data."
        )
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise _unreadable(path, exc) from None
    if path.stat().st_size % page_size:
        # a copy still in progress, or a cut file: whole pages are missing at the end
        conn.close()
        raise ConfigError(
            f"The billing database {path} cannot be read (its size is not a whole number of {page_size}-byte pages, so it is truncated); "
            "point REPORTING_SOURCE_DB at a complete copy."
        )
    missing = {"patients", "invoices", "payments"} - tables
    if missing:
        conn.close()
        raise ConfigError(
            f"The billing database {path} has no {', '.join(sorted(missing))} table; REPORTING_SOURCE_DB must point at the billing application's database."
        )
    try:
        yield conn
    except sqlite3.DatabaseError as exc:  # raised while reading: locked, or damaged past the header
        raise _unreadable(path, exc) from None
    finally:
        conn.close()


def _unreadable(path: Path, exc: sqlite3.DatabaseError) -> ConfigError:
    if "locked" in str(exc) or "busy" in str(exc):
        return ConfigError(
            f"The billing database {path} cannot be read (database is locked by another process for more than 5 s); "
            "the next run will read it once the application's write finishes."
        )
    return ConfigError(f"The billing database {path} cannot be read ({exc}); check that REPORTING_SOURCE_DB is a complete SQLite file.")


def patient_ids(conn: sqlite3.Connection) -> Iterator[int]:
    """Every patient id (INTEGER PRIMARY KEY: always an integer)."""
    return (row[0] for row in conn.execute("SELECT id FROM patients"))


def invoice_keys(conn: sqlite3.Connection, size: int = CHUNK_ROWS) -> Iterator[list[tuple]]:
    """(id, invoice_number, patient_id) of every invoice, in chunks: what payments are resolved against."""
    return _chunks(conn.execute("SELECT id, invoice_number, patient_id FROM invoices"), size)


def invoice_rows(conn: sqlite3.Connection, size: int = CHUNK_ROWS) -> Iterator[list[tuple]]:
    return _chunks(conn.execute(f"SELECT {', '.join(INVOICE_COLUMNS)} FROM invoices ORDER BY id"), size)


def _chunks(cursor: sqlite3.Cursor, size: int) -> Iterator[list[tuple]]:
    while rows := cursor.fetchmany(size):
        yield rows


def payments_between(conn: sqlite3.Connection, start: dt.date, end: dt.date, size: int = CHUNK_ROWS) -> Iterator[list[tuple]]:
    """Payments whose date text falls in [start, end) (date or timestamp form), ordered by date."""
    cursor = conn.execute(
        f"SELECT {', '.join(PAYMENT_COLUMNS)} FROM payments "
        "WHERE payment_date >= ? AND payment_date < ? ORDER BY payment_date, id",
        (start.isoformat(), end.isoformat()),
    )
    return _chunks(cursor, size)


def undated_payment_candidates(conn: sqlite3.Connection, today: dt.date) -> list[tuple]:
    """A superset of the payments whose date places them in no partition (unparseable or future)."""
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    return conn.execute(
        f"SELECT {', '.join(PAYMENT_COLUMNS)} FROM payments "
        f"WHERE typeof(payment_date) <> 'text' OR NOT ({_CANONICAL}) "
        "OR date(substr(payment_date, 1, 10), '+0 days') IS NOT substr(payment_date, 1, 10) "
        "OR payment_date >= ? ORDER BY id",
        (tomorrow,),
    ).fetchall()


def all_payments(conn: sqlite3.Connection, size: int = CHUNK_ROWS) -> Iterator[list[tuple]]:
    cursor = conn.execute(f"SELECT {', '.join(PAYMENT_COLUMNS)} FROM payments")
    return _chunks(cursor, size)


def table_stats(conn: sqlite3.Connection, table: str) -> tuple[int, str | None, int]:
    """(count, newest updated_at, max id) of a source table: changes when its rows change.

    One statement each: alone, count(*) is answered from the smallest index and the maxima
    from an index or the rowid, while together they scan the table.
    """
    if table not in ("patients", "invoices", "payments"):
        raise ValueError(table)
    count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    newest = conn.execute(f"SELECT max(updated_at) FROM {table}").fetchone()[0]
    max_id = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
    return count, newest, max_id
