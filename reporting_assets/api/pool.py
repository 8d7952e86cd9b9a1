"""A small thread-safe connection pool: bounded, and emptied when the server goes away.

psycopg2's ThreadedConnectionPool raises when exhausted instead of waiting, and keeps
idle connections to a server that restarted; this one waits for a slot (bounded) and,
after a connection failure, drops every idle connection so the next request reconnects.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import psycopg2
import psycopg2.extensions

from ..warehouse.database import libpq_dsn


class DatabaseUnavailable(RuntimeError):
    """The reporting database cannot be reached (becomes 503)."""


class ConnectionPool:
    def __init__(self, url: str, size: int = 10, wait_seconds: float = 10.0) -> None:
        self._dsn = libpq_dsn(url)
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[psycopg2.extensions.connection] = []
        self._lock = threading.Lock()
        self._wait_seconds = wait_seconds

    def _open(self) -> psycopg2.extensions.connection:
        try:
            return psycopg2.connect(self._dsn, application_name="reporting_assets.api", connect_timeout=5, options="-c TimeZone=UTC")
        except psycopg2.Error:
            raise DatabaseUnavailable() from None

    def acquire(self) -> psycopg2.extensions.connection:
        """A connection for one transaction; hand it back with release()."""
        if not self._slots.acquire(timeout=self._wait_seconds):
            raise DatabaseUnavailable()
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            return conn if conn is not None and not conn.closed else self._open()
        except BaseException:
            self._slots.release()
            raise

    def release(self, conn: psycopg2.extensions.connection, *, broken: bool = False) -> None:
        """Roll back whatever is open and keep the connection, or drop it (and every idle one) when broken."""
        try:
            if not broken and not conn.closed and conn.status != psycopg2.extensions.STATUS_READY:
                conn.rollback()
        except psycopg2.Error:
            broken = True
        if broken or conn.closed:
            self._discard(conn)
            self.clear()  # the server went away: the idle connections are dead too
        else:
            with self._lock:
                self._idle.append(conn)
        self._slots.release()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """A connection for one transaction, rolled back and returned afterwards; failures become DatabaseUnavailable."""
        conn = self.acquire()
        try:
            yield conn
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            self.release(conn, broken=True)
            raise DatabaseUnavailable() from None
        except BaseException:
            self.release(conn)
            raise
        else:
            self.release(conn)

    @staticmethod
    def _discard(conn: psycopg2.extensions.connection | None) -> None:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            self._discard(conn)
