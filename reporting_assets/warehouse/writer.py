"""The write path of the reporting and staging tables: partition-atomic, idempotent, COPY-based.

The tables' rows are written only here; the platform's side records have their own small
writers, each in the caller's transaction too: quarantine rows (:func:`replace_quarantine`,
below), audit rows (``audit.py``), run status (``defs/automation/run_status.py``) and the
retention deletes (``retention.py``).

Every table is written inside a caller's transaction (see ``database.transaction``):
either the old rows stay or the new rows are in, never a mix. Writers of the same table
and partition serialize on transaction-scoped advisory locks, so two runs refreshing one
day at once cannot leave duplicates.

Two shapes of write:

* :func:`replace_window` deletes the rows of a date window and COPYs the new ones
  (staging.payments, staging.invoices): rows are facts without identity of their own;
  :func:`replace_window_from_select` does the same with rows selected server-side
  (patient_payment_history, a projection of staging.payments; dim_patient and dim_user,
  rebuilt whole); :func:`collect_keys` then :func:`replace_collected_keys` the rows of some
  keys only (the dim_patient rows that changed), and :func:`replace_keys` with rows COPYed
  (staging.invoices, the invoices that changed).
* :func:`merge_rows` COPYs into a temporary table, upserts on the table's key (keeping
  ``created_at``, setting ``updated_at``; optionally leaving rows that did not change as they
  are) and deletes keys no longer present in the window (revenue_metrics per day);
  :func:`merge_rows_from_select` does the same with rows selected server-side, for the whole
  table (outstanding_payments).

A write or merge into an empty table (a first backfill, the replica's first copy) builds the
table's secondary indexes after its rows, in the same transaction (:func:`first_load`, sql/015).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import psycopg2.errors
import psycopg2.extensions
from psycopg2 import sql

from ..dates import DateWindow
from ..overlap import load_while_producing


@dataclass(frozen=True)
class TableSpec:
    schema: str
    name: str
    columns: tuple[str, ...]  # written columns, in DataFrame order
    date_column: str | None = None  # the partition column, for window writes
    key: str | None = None  # the idempotency key, for merges
    has_updated_at: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.name))


ANALYZE_AFTER_ROWS = 100_000  # a write this large refreshes the table's planner statistics at once


def analyze_if_large(conn: psycopg2.extensions.connection, table: sql.Composable, rows: int) -> None:
    """ANALYZE a table just written at scale: the next runs' one-day reads then use its indexes
    (autovacuum would get there, but not before a refresh that follows a backfill)."""
    if rows >= ANALYZE_AFTER_ROWS:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("ANALYZE {}").format(table))


def lock(conn: psycopg2.extensions.connection, table: TableSpec, keys: Sequence[str]) -> None:
    """Take transaction-scoped advisory locks on (table, key) pairs in a fixed order (no deadlocks)."""
    with conn.cursor() as cur:
        for key in sorted(set(keys)):
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", (table.qualified, key))


def copy_frame(conn: psycopg2.extensions.connection, target: sql.Composable, columns: Sequence[str], frame: pd.DataFrame) -> int:
    """COPY the frame's ``columns`` into ``target``; how many rows."""
    if frame.empty:
        return 0
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(target, sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor() as cur:
        cur.copy_expert(statement.as_string(conn), _PiecesReader(copy_csv(frame, columns)), size=COPY_READ_BYTES)
    return len(frame)


COPY_CSV_ROWS = 50_000  # rows formatted at a time: only their text sits in memory beside the frame, not a whole chunk's
COPY_READ_BYTES = 1 << 20  # what psycopg2 asks the reader for at a time
_CSV = pacsv.WriteOptions(include_header=False, quoting_style="needed")


def copy_csv(frame: pd.DataFrame, columns: Sequence[str]) -> Iterator[bytes]:
    """The frame's ``columns`` in COPY's CSV format, COPY_CSV_ROWS lines at a time.

    The columns become Arrow arrays and Arrow's C++ writer formats them, without the GIL: a
    fourth of the time of formatting them in Python (docs/benchmarks.md, "Fifteenth round"),
    on the thread that copies while the next chunk is staged. Text is always quoted, so an empty
    string stays an empty string and a missing value (an empty unquoted field) is NULL, as COPY's
    CSV format reads them. A datetime64 column is written as its day, as the tables' date
    columns take it.
    """
    table = pa.Table.from_arrays([_arrow_column(frame[column]) for column in columns], names=list(columns))
    for start in range(0, len(frame), COPY_CSV_ROWS):
        sink = io.BytesIO()
        pacsv.write_csv(table.slice(start, COPY_CSV_ROWS), sink, _CSV)
        yield sink.getvalue()


class _PiecesReader:
    """The file COPY reads (psycopg2 calls ``read(size)`` until it returns empty): the pieces one after the other."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces = iter(pieces)
        self._text = b""
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        while self._at >= len(self._text):
            piece = next(self._pieces, None)
            if piece is None:
                return b""
            self._text, self._at = piece, 0
        end = len(self._text) if size < 0 else self._at + size
        part = self._text[self._at : end]
        self._at += len(part)
        return part


def _arrow_column(series: pd.Series) -> pa.Array:
    """The column as Arrow holds it (missing values and NaN as null): numbers, booleans and text as
    they are, datetime64 as days, Decimals as decimals; an object column of mixed values as each value's str."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return pc.cast(pa.Array.from_pandas(series.to_numpy()), pa.date32(), safe=False)
    if isinstance(dtype, np.dtype) or isinstance(dtype, (pd.Int64Dtype, pd.BooleanDtype, pd.StringDtype)):
        try:
            return pa.Array.from_pandas(series.to_numpy() if isinstance(dtype, np.dtype) else series.array)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass  # an object column mixing kinds of value
    missing = series.isna().to_numpy()
    values = series.to_numpy(dtype=object)
    return pa.array([None if gone else v if type(v) is str else str(v) for v, gone in zip(values, missing)], type=pa.string())


def _with_run(frame: pd.DataFrame, run_id: str | None) -> pd.DataFrame:
    frame = frame.copy(deep=False)
    frame["dagster_run_id"] = run_id
    return frame


def _is_empty(cur, table: sql.Composable) -> bool:
    cur.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(table))
    return cur.fetchone()[0]


def first_load(conn: psycopg2.extensions.connection, table: sql.Composable) -> bool:
    """When ``table`` has no rows and no other transaction uses it, lock it for this transaction and
    drop its secondary indexes (sql/015, staging.begin_first_load); whether it did. Then
    build_indexes, once the rows are in.

    Filling an empty table and then building each index in one sorted pass takes a fraction of
    keeping every index up to date row by row (the server's write of 1M payment history rows: 8 s
    instead of 20 s). The lock keeps the table to this transaction until it commits: readers of the
    empty table, and writers of its other days, wait for the loaded one. A table with rows, or one
    another transaction holds any lock on (NOWAIT), is written as always, its indexes kept up to
    date; nothing waits.
    """
    with conn.cursor() as cur:
        if not _is_empty(cur, table):  # the everyday case, decided without a lock
            return False
        cur.execute("SAVEPOINT first_load")
        try:
            cur.execute("SELECT staging.begin_first_load(%s::regclass)", (table.as_string(conn),))
            began = cur.fetchone()[0]
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.InsufficientPrivilege, psycopg2.errors.UndefinedFunction):
            began = False  # in use; or 015 not ours to run; or a schema from before 015 (a migration's own test)
        if not began:  # in use, or rows committed since the check above: the lock goes with the savepoint
            cur.execute("ROLLBACK TO SAVEPOINT first_load")
        cur.execute("RELEASE SAVEPOINT first_load")
    return began


def build_indexes(conn: psycopg2.extensions.connection, table: sql.Composable, began: bool) -> None:
    """After a first_load that began: build the indexes it dropped again, each in one pass over the rows now in the table."""
    if not began:
        return
    with conn.cursor() as cur:
        cur.execute("SET LOCAL maintenance_work_mem = '256MB'")  # a million patient ids sort in memory
        cur.execute("SELECT staging.end_first_load(%s::regclass)", (table.as_string(conn),))


def _clear(conn: psycopg2.extensions.connection, table: TableSpec, window: DateWindow | None) -> bool:
    """Lock and delete the window's rows (the whole table's when ``window`` is None); whether it
    began a first_load (the table was empty): then build_indexes once the new rows are in."""
    with conn.cursor() as cur:
        if window is None:
            lock(conn, table, ["*"])  # the advisory locks first, the table's lock after: as every writer takes them
            began = first_load(conn, table.ident)
            cur.execute(sql.SQL("DELETE FROM {}").format(table.ident))
            return began
        assert table.date_column, f"{table.qualified} has no partition column"
        lock(conn, table, [d.isoformat() for d in window.days()])
        began = first_load(conn, table.ident)
        # partitioned write: delete the partition's time window, then write it again
        cur.execute(
            sql.SQL("DELETE FROM {} WHERE {} >= %s AND {} < %s").format(
                table.ident, sql.Identifier(table.date_column), sql.Identifier(table.date_column)
            ),
            (window.start, window.end),
        )
    return began


def replace_window(
    conn: psycopg2.extensions.connection,
    table: TableSpec,
    chunks: Iterable[pd.DataFrame],
    window: DateWindow | None,
    *,
    run_id: str | None,
) -> int:
    """Delete the window's rows (the whole table's when ``window`` is None) and COPY the new ones.

    Each chunk is copied by a second thread while ``chunks`` prepares the next one
    (overlap.load_while_producing); ``chunks`` must not use ``conn``.
    """
    began = _clear(conn, table, window)
    columns = (*table.columns, "dagster_run_id")
    written = load_while_producing(chunks, lambda frame: copy_frame(conn, table.ident, columns, _with_run(frame, run_id)), "copy")
    build_indexes(conn, table.ident, began)
    analyze_if_large(conn, table.ident, written)
    return written


def replace_window_from_select(
    conn: psycopg2.extensions.connection, table: TableSpec, select: sql.Composable, window: DateWindow | None
) -> int:
    """Delete the window's rows (the whole table's when ``window`` is None) and insert the rows of ``select`` (table columns + dagster_run_id), server-side."""
    began = _clear(conn, table, window)
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("INSERT INTO {} ({}) ").format(table.ident, sql.SQL(", ").join(map(sql.Identifier, (*table.columns, "dagster_run_id"))))
            + select
        )
        written = cur.rowcount
    build_indexes(conn, table.ident, began)
    analyze_if_large(conn, table.ident, written)
    return written


REPLACED_KEYS = sql.Identifier("_replaced_keys")  # the temporary table of keys collect_keys fills


def collect_keys(conn: psycopg2.extensions.connection, table: TableSpec, keys: sql.Composable) -> int:
    """Replacing the rows of some keys server-side, first: lock the table and put the keys the query ``keys``
    returns (evaluated once, before anything changes) into the temporary table REPLACED_KEYS; how many."""
    lock(conn, table, ["*"])
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS ").format(REPLACED_KEYS) + keys)
        collected = cur.rowcount
        cur.execute(sql.SQL("ANALYZE {}").format(REPLACED_KEYS))  # the planner then joins the keys by index
    return collected


def replace_collected_keys(conn: psycopg2.extensions.connection, table: TableSpec, select: sql.Composable, key: str) -> int:
    """Then: delete the rows of the keys in REPLACED_KEYS and insert the rows of ``select`` (which
    reads REPLACED_KEYS to return just those keys' new rows); how many rows it inserted."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("DELETE FROM {} WHERE {} IN (SELECT * FROM {})").format(table.ident, sql.Identifier(key), REPLACED_KEYS)
        )
        cur.execute(
            sql.SQL("INSERT INTO {} ({}) ").format(table.ident, sql.SQL(", ").join(map(sql.Identifier, (*table.columns, "dagster_run_id"))))
            + select
        )
        return cur.rowcount


def replace_keys(
    conn: psycopg2.extensions.connection, table: TableSpec, key: str, keys: Sequence[int], chunks: Iterable[pd.DataFrame], *, run_id: str | None
) -> int:
    """Delete the rows of these keys and COPY the new ones (``chunks`` hold only rows of these keys; a key may have none now)."""
    lock(conn, table, ["*"])
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(table.ident, sql.Identifier(key)), (list(keys),))
    columns = (*table.columns, "dagster_run_id")
    return sum(copy_frame(conn, table.ident, columns, _with_run(frame, run_id)) for frame in chunks)


class Merged(NamedTuple):
    rows: int  # the rows given
    changed: int  # the rows inserted, updated or deleted (with unchanged_rows_kept, unchanged rows are not)


def _incoming(conn: psycopg2.extensions.connection, table: TableSpec) -> sql.Identifier:
    """A temporary table shaped like ``table`` for the rows a merge upserts (dropped at commit)."""
    incoming = sql.Identifier(f"_incoming_{table.name}")
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(incoming, table.ident))
    return incoming


def merge_rows(
    conn: psycopg2.extensions.connection,
    table: TableSpec,
    frame: pd.DataFrame | Iterable[pd.DataFrame],
    *,
    run_id: str | None,
    window: DateWindow | None = None,
    unchanged_rows_kept: bool = False,
) -> Merged:
    """Upsert the rows (one frame or chunks) on the table's key and remove keys of the window (or table) they no longer have.

    With ``unchanged_rows_kept``, a row whose columns all equal the incoming row's is not written
    again: it keeps its ``updated_at`` and ``dagster_run_id`` (the run that last changed it).
    """
    lock(conn, table, [d.isoformat() for d in window.days()] if window else ["*"])
    incoming = _incoming(conn, table)
    columns = (*table.columns, "dagster_run_id")
    written = sum(copy_frame(conn, incoming, columns, _with_run(chunk, run_id)) for chunk in ([frame] if isinstance(frame, pd.DataFrame) else frame))
    return Merged(written, _merge_incoming(conn, table, incoming, written, window, unchanged_rows_kept))


def merge_rows_from_select(
    conn: psycopg2.extensions.connection, table: TableSpec, select: sql.Composable, *, run_id: str, unchanged_rows_kept: bool = False
) -> Merged:
    """merge_rows of the whole table with the rows ``select`` returns (server-side; the table's columns in order)."""
    lock(conn, table, ["*"])
    incoming = _incoming(conn, table)
    columns = sql.SQL(", ").join(map(sql.Identifier, (*table.columns, "dagster_run_id")))
    with conn.cursor() as cur:
        cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT *, {} FROM ({}) AS selected").format(incoming, columns, sql.Literal(run_id), select))
        written = cur.rowcount
    return Merged(written, _merge_incoming(conn, table, incoming, written, None, unchanged_rows_kept))


def _merge_incoming(
    conn: psycopg2.extensions.connection, table: TableSpec, incoming: sql.Identifier, written: int, window: DateWindow | None, unchanged_rows_kept: bool
) -> int:
    """Delete the keys of the window (or table) ``incoming`` does not have, upsert its rows; how many rows changed.

    An empty table is a first_load: its secondary indexes are built after the rows (the first
    outstanding_payments of a 10M-payment warehouse, docs/benchmarks.md "Seventeenth round").
    """
    assert table.key, f"{table.qualified} has no key"
    began = first_load(conn, table.ident)
    columns = (*table.columns, "dagster_run_id")
    key = sql.Identifier(table.key)
    scope = sql.SQL("TRUE")
    params: tuple = ()
    if window is not None:
        assert table.date_column
        scope = sql.SQL("t.{} >= %s AND t.{} < %s").format(sql.Identifier(table.date_column), sql.Identifier(table.date_column))
        params = (window.start, window.end)
    updates = [sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in columns if c != table.key]
    if table.has_updated_at:
        updates.append(sql.SQL("updated_at = (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')"))
    only_changed = sql.SQL("")
    if unchanged_rows_kept:
        compared = [sql.Identifier(c) for c in table.columns if c != table.key]
        only_changed = sql.SQL(" WHERE ({}) IS DISTINCT FROM ({})").format(
            sql.SQL(", ").join(sql.SQL("t.{}").format(c) for c in compared), sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(c) for c in compared)
        )
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("DELETE FROM {} t WHERE {} AND NOT EXISTS (SELECT 1 FROM {} s WHERE s.{} = t.{})").format(
                table.ident, scope, incoming, key, key
            ),
            params,
        )
        changed = cur.rowcount
        cur.execute(
            # in key order: the key's index is walked once from left to right, not probed at random
            sql.SQL("INSERT INTO {} AS t ({}) SELECT {} FROM {} ORDER BY {} ON CONFLICT ({}) DO UPDATE SET {}{}").format(
                table.ident,
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                incoming,
                key,
                key,
                sql.SQL(", ").join(updates),
                only_changed,
            )
        )
        changed += cur.rowcount
    build_indexes(conn, table.ident, began)
    analyze_if_large(conn, table.ident, written)
    return changed


# ------------------------------------------------------------------ side records
QUARANTINE = TableSpec(
    "reporting", "quarantine", ("source_table", "source_id", "asset_key", "partition_key", "reasons")
)


def replace_quarantine(
    conn: psycopg2.extensions.connection,
    *,
    asset_key: str,
    source_table: str,
    rejects: pd.DataFrame,
    partition_keys: Sequence[str | None],
    run_id: str,
    source_ids: Sequence[int] | None = None,
) -> int:
    """Replace the quarantine rows of (asset, partitions) with ``rejects`` (source_id, partition_key, reasons).

    ``None`` in ``partition_keys`` stands for rows that belong to no partition. With
    ``source_ids``, only the rows of those source rows are replaced.
    """
    lock(conn, QUARANTINE, [f"{asset_key}/{key}" for key in partition_keys])
    named = [k for k in partition_keys if k is not None]
    with conn.cursor() as cur:
        cur.execute(
            "DELETE FROM reporting.quarantine WHERE asset_key = %s AND (partition_key = ANY(%s) OR (%s AND partition_key IS NULL)) "
            "AND (%s OR source_id = ANY(%s::bigint[]))",
            (asset_key, named, None in partition_keys, source_ids is None, list(source_ids or [])),
        )
        if rejects.empty:
            return 0
        rows = [
            (source_table, int(r.source_id) if pd.notna(r.source_id) else None, asset_key, r.partition_key, list(r.reasons), run_id)
            for r in rejects.itertuples(index=False)
        ]
        from psycopg2.extras import execute_values

        execute_values(
            cur,
            "INSERT INTO reporting.quarantine (source_table, source_id, asset_key, partition_key, reasons, dagster_run_id) VALUES %s",
            rows,
            page_size=1000,
        )
    return len(rows)


def record_refresh(conn: psycopg2.extensions.connection, asset_key: str) -> None:
    """Note in staging.refreshes that ``asset_key``'s table was replaced now (in the caller's transaction)."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO staging.refreshes (asset_key, refreshed_at) VALUES (%s, clock_timestamp() AT TIME ZONE 'UTC') "
            "ON CONFLICT (asset_key) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at",
            (asset_key,),
        )
