"""CSV twins of the reports, streamed from a server-side cursor inside the audited transaction.

The audit row (export_data) and the read are one transaction: the row is inserted, the role
switched and the first batch fetched before the response starts (so refusals and database
failures still get their proper status); the transaction commits after the last row. A client
that leaves mid-download is still audited (commit on close). A database failure mid-stream
cuts the response (no final chunk, the client sees an incomplete download) and rolls back.
"""

from __future__ import annotations

import csv
import io
import weakref
from collections.abc import Callable, Iterator, Sequence

import psycopg2
from fastapi import Request
from fastapi.responses import StreamingResponse

from .deps import Caller, begin_report, pool_of
from .pool import DatabaseUnavailable

BATCH_ROWS = 2000


def _lines(rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


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
    state = {"released": False}

    def release(broken: bool = False) -> None:
        if not state["released"]:
            state["released"] = True
            pool.release(conn, broken=broken)

    try:
        begin_report(conn, caller, report, action="export_data", resource_id=resource_id)
        cursor = conn.cursor(name="report_export")  # server-side: rows stream, memory stays flat
        cursor.itersize = BATCH_ROWS
        cursor.execute(query, params)
        first = cursor.fetchmany(BATCH_ROWS)
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        release(broken=True)
        raise DatabaseUnavailable() from None
    except BaseException:
        release()
        raise

    def body() -> Iterator[str]:
        broken = False
        try:
            yield _lines([list(columns)])
            batch = first
            while batch:
                yield _lines([to_row(row) for row in batch])
                batch = cursor.fetchmany(BATCH_ROWS)
            cursor.close()
            conn.commit()
        except GeneratorExit:
            _commit_quietly(conn)  # the client left: what it received stays audited
            raise
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            broken = True
            raise
        finally:
            release(broken)

    stream = body()
    weakref.finalize(stream, release)  # a response never started still hands its connection back
    return StreamingResponse(
        stream,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _commit_quietly(conn) -> None:
    try:
        conn.commit()
    except psycopg2.Error:
        pass
