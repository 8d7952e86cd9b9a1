"""Read-only access to the billing database: opening it, and the statistics that tell when a table changed.

The file is opened with ``mode=ro`` so the billing application is never locked out. What
is read from it is read by ``replica.sync`` (the columns of ``contract``: never a patient's
name, SSN, birth date or contact detail) and by the source-change sensor.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from ..settings import ConfigError


def read_only_uri(path: Path | str) -> str:
    """The SQLite URI opening ``path`` read-only; quoted, since a "?", "#" or "%" in the path would end it or be decoded."""
    return f"file:{urllib.parse.quote(str(path))}?mode=ro"


def main_file(conn: sqlite3.Connection) -> str:
    """The path of the file a connection reads ("" for an in-memory or temporary database)."""
    return next(row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main")


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
        conn = sqlite3.connect(read_only_uri(path), uri=True, timeout=5.0, check_same_thread=False)
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


SETTLED_NS = 3_000_000_000  # a file left alone this long can change again only with a later modification time


def file_stamp(conn: sqlite3.Connection) -> str | None:
    """The identity, size, modification and change times of the database file and of its write-ahead
    log, if they were last changed SETTLED_NS or more ago; else None. Take it before reading.

    A later stamp equal to a settled one means that nothing was written to the files in between:
    every write, committed to the file or to its log, moves a modification time past the stamp's,
    which is older than the clock's granularity by far (and setting a modification time back moves
    the change time, which no one can set). A file written moments ago could still
    be written again within the same tick of the file system's clock, leaving its stamp as it
    was: that stamp proves nothing, hence None.
    """
    path = main_file(conn)
    if not path:
        return None
    now = time.time_ns()
    parts, newest = [], 0
    for name in (path, f"{path}-wal"):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            parts.append("-")
            continue
        parts.append(f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}")
        newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
    if now - newest < SETTLED_NS:
        return None
    return f"{os.path.realpath(path)}|{'|'.join(parts)}"
