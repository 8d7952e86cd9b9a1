"""What staging reads from the billing replica: a window's payments and exactly the invoices and patients they reference."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import psycopg2.extensions

from ..bulk import bulk, collector_paused
from ..source.contract import INVOICE_COLUMNS, PAYMENT_COLUMNS
from ..staging.lookups import SourceLookups
from . import codec

# rows per chunk: writer.replace_window holds two at once (one being copied, the next being staged)
CHUNK_ROWS = 50_000
_PAYMENT_INVOICE = PAYMENT_COLUMNS.index("invoice_id")
_PAYMENT_PATIENT = PAYMENT_COLUMNS.index("patient_id")
_INVOICE_KEY = [INVOICE_COLUMNS.index(c) for c in ("id", "invoice_number", "patient_id")]


def _rows(conn: psycopg2.extensions.connection, name: str, statement: str, params: tuple, size: int) -> Iterator[list[list]]:
    """Decoded rows of a ``SELECT row_json ...`` in chunks, streamed by a server-side cursor."""
    with conn.cursor() as setup:
        # every row is read: plan for all of them (a cursor's default favours the first 10 %, which
        # makes a year's window an index scan with a random heap read per row)
        setup.execute("SET LOCAL cursor_tuple_fraction = 1.0")
    with conn.cursor(name=name) as cur:
        cur.itersize = size
        cur.execute(statement, params)
        while True:
            # a fetch is up to ``size`` tuples (bulk.py); paused per fetch, never across the yield. Read
            # ahead on another thread (overlap.read_ahead), this also keeps the collector from running
            # there and finalizing the caller's garbage, such as Dagster's SQLite connections, on it
            with collector_paused():
                texts = cur.fetchmany(size)
            if not texts:
                return
            yield codec.decode_many([t for (t,) in texts])


def replica_version(conn: psycopg2.extensions.connection) -> int | None:
    """The replica's version (raw.replica_version); read it before the rows it describes. None before the first sync."""
    with conn.cursor() as cur:
        cur.execute("SELECT version FROM raw.replica_version")
        row = cur.fetchone()
    return row[0] if row else None


PIPELINE_CHUNKS = 4  # a window of fewer than PIPELINE_CHUNKS * CHUNK_ROWS payments is cut into this many chunks
MIN_CHUNK_ROWS = 20_000


def pipelined_chunk_rows(count: int) -> int:
    """Rows per chunk for ``count`` payments: CHUNK_ROWS, or fewer so that a window of one day still comes in
    PIPELINE_CHUNKS chunks, each written while the next is staged (writer.replace_window), never under MIN_CHUNK_ROWS."""
    return min(CHUNK_ROWS, max(MIN_CHUNK_ROWS, -(-count // PIPELINE_CHUNKS)))


WHOLE_LOOKUPS_ABOVE = 200_000  # more payments than this load every invoice and patient once instead of per chunk
_WINDOW = "payment_day >= %s AND payment_day < %s"
_EXCEPT_DAYS = "payment_day IS NULL OR NOT (payment_day = ANY(%s::date[]))"


def _payments_with_lookups(conn, name: str, where: str, params: tuple) -> Iterator[tuple[list[list], SourceLookups]]:
    """The payments ``where`` selects, in chunks, each with the lookups it is resolved against: only
    what the chunk references (its queries then run while the previous chunk is copied), or, when
    they are many, every invoice and patient loaded once. The staging assets read them one chunk
    ahead (overlap.read_ahead)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM raw.payments WHERE {where}", params)
        count = cur.fetchone()[0]
    chunks = _rows(conn, name, f"SELECT row_json FROM raw.payments WHERE {where}", params, pipelined_chunk_rows(count))
    if count > WHOLE_LOOKUPS_ABOVE:
        lookups = all_lookups(conn)
        return ((rows, lookups) for rows in chunks)
    return ((rows, lookups_for(conn, rows)) for rows in chunks)


def payments_with_lookups(conn, start: dt.date, end: dt.date) -> Iterator[tuple[list[list], SourceLookups]]:
    """Payments whose partition day is in [start, end), in chunks, each with its lookups."""
    return _payments_with_lookups(conn, "raw_window", _WINDOW, (start, end))


def payments_except_days_with_lookups(conn, days: Sequence[dt.date]) -> Iterator[tuple[list[list], SourceLookups]]:
    """Every payment whose partition day is not one of ``days`` (undated ones included), in chunks, each with its lookups."""
    return _payments_with_lookups(conn, "raw_payments", _EXCEPT_DAYS, (list(days),))


def undated_payments(conn, today: dt.date) -> list[list]:
    """Payments whose date places them in no partition: unparseable, or after ``today``."""
    return [row for chunk in _rows(conn, "raw_undated", "SELECT row_json FROM raw.payments WHERE payment_day IS NULL OR payment_day > %s", (today,), CHUNK_ROWS) for row in chunk]


def invoice_rows(conn, size: int = CHUNK_ROWS) -> Iterator[list[list]]:
    return _rows(conn, "raw_invoices", "SELECT row_json FROM raw.invoices ORDER BY id", (), size)


def invoice_rows_of(conn, ids: Sequence[int], size: int = CHUNK_ROWS) -> Iterator[list[list]]:
    """The rows of these invoices, in chunks."""
    return _rows(conn, "raw_some_invoices", "SELECT row_json FROM raw.invoices WHERE id = ANY(%s::bigint[]) ORDER BY id", (list(ids),), size)


def _patients(conn) -> list[str]:
    with conn.cursor(name="raw_patients") as cur:
        cur.itersize = CHUNK_ROWS
        cur.execute("SELECT pseudonym FROM raw.patients")
        return [p for (p,) in cur]


@bulk
def all_lookups(conn) -> SourceLookups:
    """Every patient and invoice (what staging a large window of payments needs)."""
    keys = ([row[i] for i in _INVOICE_KEY] for chunk in invoice_rows(conn) for row in chunk)
    return SourceLookups(_patients(conn), _batched(keys))


@bulk
def patient_lookups(conn) -> SourceLookups:
    """Every patient and no invoice: what staging invoices resolves their patients against."""
    return SourceLookups(_patients(conn), [])


@bulk
def patient_lookups_of(conn, refs: Sequence[object]) -> SourceLookups:
    """The patients among ``refs`` (pseudonyms) that exist, and no invoice."""
    wanted = sorted({r for r in refs if type(r) is str and r != codec.NOT_A_PATIENT_ID})
    with conn.cursor() as cur:
        cur.execute("SELECT pseudonym FROM raw.patients WHERE pseudonym = ANY(%s::text[])", (wanted,))
        return SourceLookups([p for (p,) in cur.fetchall()], [])


def invoice_ids(conn) -> pd.Index:
    """Every invoice id in order, read from the id column (no row is decoded)."""
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM raw.invoices ORDER BY id")
        return pd.Index(np.fromiter((i for (i,) in cur), dtype=np.int64, count=cur.rowcount))


@bulk
def lookups_for(conn, payments: Sequence[Sequence]) -> SourceLookups:
    """The patients and invoices these payments reference, and nothing else."""
    invoice_ids = sorted({v for v in (row[_PAYMENT_INVOICE] for row in payments) if type(v) is int})
    with conn.cursor() as cur:
        cur.execute("SELECT row_json FROM raw.invoices WHERE id = ANY(%s::bigint[])", (invoice_ids,))
        invoices = [[row[i] for i in _INVOICE_KEY] for row in codec.decode_many([t for (t,) in cur.fetchall()])]
        refs = {row[_PAYMENT_PATIENT] for row in payments} | {row[2] for row in invoices}
        refs.discard(None)
        refs.discard(codec.NOT_A_PATIENT_ID)
        cur.execute("SELECT pseudonym FROM raw.patients WHERE pseudonym = ANY(%s::text[])", (sorted(refs),))
        patients = [p for (p,) in cur.fetchall()]
    return SourceLookups(patients, [invoices])


def _batched(rows, size: int = CHUNK_ROWS) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
