"""CSV twins of the reports, streamed from a server-side cursor inside the audited transaction.

The audit row (export_data) and the read are one transaction: the row is inserted, the role
switched and the first batch fetched before the response starts (so refusals and database
failures still get their proper status); the transaction commits after the last row. A client
that leaves mid-download is still audited: the response's background task commits and hands
the connection back (Starlette runs it after a disconnect too). A database failure mid-stream
cuts the response (no final chunk, the client sees an incomplete download) and rolls back.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Sequence

import psycopg2
import psycopg2.extensions
from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from .deps import Caller, begin_report, pool_of
from .pool import ConnectionPool, DatabaseUnavailable

BATCH_ROWS = 2000


def _lines(rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


class CsvStream:
    """The rows of one export as CSV chunks; owns the connection until the last row or close()."""

    def __init__(self, pool: ConnectionPool, conn: psycopg2.extensions.connection, cursor, first: list, columns: Sequence[str], to_row) -> None:
        self._pool, self._conn, self._cursor = pool, conn, cursor
        self._pending: list | None = first
        self._header: str | None = _lines([list(columns)])
        self._to_row = to_row
        self._lock = threading.Lock()  # next() runs in a worker thread, close() may come from another
        self._done = False

    def __iter__(self) -> "CsvStream":
        return self

    def __next__(self) -> str:
        with self._lock:
            if self._done:
                raise StopIteration
            if self._header is not None:
                header, self._header = self._header, None
                return header
            try:
                batch = self._pending if self._pending is not None else self._cursor.fetchmany(BATCH_ROWS)
                self._pending = None
                if not batch:
                    self._cursor.close()
                    self._conn.commit()
                    self._finish()
                    raise StopIteration
                return _lines([self._to_row(row) for row in batch])
            except StopIteration:
                raise
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self._finish(broken=True)
                raise
            except BaseException:
                self._finish()  # rolls back: the audit row goes with the failed read
                raise

    def close(self) -> None:
        """After the response (complete, or the client left): commit what was sent, hand the connection back."""
        with self._lock:
            if self._done:
                return
            try:
                self._conn.commit()  # the client left mid-download: what it received stays audited
            except psycopg2.Error:
                self._finish(broken=True)
                return
            self._finish()

    __del__ = close  # a response that was never sent still returns its connection

    def _finish(self, broken: bool = False) -> None:
        self._done = True
        self._pool.release(self._conn, broken=broken)


def csv_response(
    request: Request,
    caller: Caller,
    report: str,
    *,
    resource_id: str,
    filename: str,
    columns: Sequence[str],
    query: str,
    params: Sequence[object] | dict,
    to_row: Callable[[tuple], Sequence[object]],
) -> StreamingResponse:
    pool = pool_of(request)
    conn = pool.acquire()
    try:
        begin_report(conn, caller, report, action="export_data", resource_id=resource_id)
        cursor = conn.cursor(name="report_export")  # server-side: rows stream, memory stays flat
        cursor.itersize = BATCH_ROWS
        cursor.execute(query, params)
        first = cursor.fetchmany(BATCH_ROWS)
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        pool.release(conn, broken=True)
        raise DatabaseUnavailable() from None
    except BaseException:
        pool.release(conn)
        raise
    stream = CsvStream(pool, conn, cursor, first, columns, to_row)
    return StreamingResponse(
        stream,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        background=BackgroundTask(stream.close),
    )
