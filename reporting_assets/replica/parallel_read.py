"""The first copy of a whole source table, read by several SQLite connections at once (apsw).

Through Python's ``sqlite3``, two connections reading halves of a table on two threads took as
long as one (docs/benchmarks.md, "Twelfth round" and "Thirteenth round"; the cause was not
pinned). apsw, which ships its own SQLite, does run them side by side: each of ``READERS``
connections returns its rows' COPY lines joined into one block of up to ``BLOCK_ROWS`` lines
by ``group_concat``, one Python object per block, with the GIL released while SQLite works, and
PostgreSQL loads the blocks meanwhile.

The readers must see exactly what the sync's own read transaction sees. In the rollback
journal modes they do: the sync's connection holds its shared lock from its first read, so no
writer can commit until the sync ends, and a reader opened meanwhile reads the same database.
In WAL mode a new connection would see later commits, so there the sync reads on its own
connection (``readers`` gives None), as it does when a writer is already waiting to commit (a
pending lock admits no new reader; the sync's connection then keeps its place).

apsw's SQLite (3.54) writes every REAL exactly through ``codec.SQLITE_JSON_VALUE``'s ``%!.17g``;
the system SQLite 3.40 that the one-connection path reads through gets the last digit wrong for
some values above about 1e105 (docs/data-model.md). For every other value both paths store the
same values; ``test_billing_replica`` compares them.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence

import apsw

from ..overlap import merged_ahead
from ..source import reader

READERS = 2  # the machine this is measured on has 2 cores, shared with PostgreSQL's COPY
BLOCK_ROWS = 20_000  # lines per block: a few MB of text, so a 10M-row table stays within memory
_BUSY_MS = 1_000  # how long a reader waits for its shared lock before the sync reads alone
REFS_SCHEMA = "temp"  # where each reader keeps the pseudonyms

@contextlib.contextmanager
def readers(source: sqlite3.Connection, refs: Iterable[Sequence[tuple[int, str]]], ref_function: Callable[[object], object],
            ref_function_name: str, count: int = READERS) -> Iterator[list[apsw.Connection] | None]:
    """``count`` connections reading what ``source``'s read transaction reads; None when there can be none.

    ``source`` must be inside a read transaction that has read (it holds the shared lock). Each
    reader gets ``refs`` (chunks of (id, pseudonym)) in ``REFS_SCHEMA.patient_refs`` and ``ref_function`` as
    ``ref_function_name``, as ``sync._patient_refs`` gives ``source``.

    apsw's SQLite and Python's are two libraries, each with its own table of the locks it holds,
    and POSIX file locks belong to the process: when either library releases a lock or closes
    the file, every lock this process holds on it goes, the other library's included. So a
    reader's first statement opens the read transaction it keeps until it is closed, its
    pseudonyms go to a temporary table (attaching a database would need a statement outside a
    transaction), and the readers are closed only when this block is left: leave it only after
    ``source``'s read transaction has ended. For the same reason a writer in this process would
    not keep the readers out; the billing application writes from its own.
    """
    path = reader.main_file(source)
    if not path or source.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        yield None
        return
    opened: list[apsw.Connection] = []
    try:
        try:
            for _ in range(count):
                conn = apsw.Connection(reader.read_only_uri(path), flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_URI)
                opened.append(conn)
                conn.set_busy_timeout(_BUSY_MS)
                conn.create_scalar_function(ref_function_name, ref_function, 1, deterministic=True)
                conn.execute("PRAGMA temp_store = MEMORY")
                # the shared lock first, held until the reader is closed: every read below sees this state
                conn.execute("BEGIN")
                conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
                conn.execute(f"CREATE TABLE {REFS_SCHEMA}.patient_refs (id INTEGER PRIMARY KEY, ref TEXT NOT NULL)")
            for chunk in refs:  # a chunk at a time: a million patients' pseudonyms are never all held in Python
                for conn in opened:
                    conn.executemany(f"INSERT INTO {REFS_SCHEMA}.patient_refs VALUES (?, ?)", chunk)
        except apsw.Error:
            # a writer waiting to commit admits no new reader (BusyError after _BUSY_MS); any other
            # reason a reader cannot open is no reason to fail: the sync's own connection reads
            yield None
            return
        yield opened
    finally:
        for conn in opened:
            conn.close()


def blocks(conns: list[apsw.Connection], source: sqlite3.Connection, table: str, line: str, join: str) -> Iterator[tuple[str, int]]:
    """Every row's COPY ``line`` (an expression over ``table p`` and ``join``) in blocks of newline-joined lines, with their count.

    The ids are cut into one range per reader of about as many rows each (from ``source``);
    each reader walks its range in id order, BLOCK_ROWS at a time. Blocks come in the order
    they are read, not in id order.
    """
    count = source.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if not count:
        return
    conns = conns[: min(len(conns), count)]
    # each range is [start, last]: ids may span the whole int64 range, so no bound is ever stepped past it
    cuts = [source.execute(f"SELECT id FROM {table} ORDER BY id LIMIT 1 OFFSET ?", (count * k // len(conns),)).fetchone()[0] for k in range(1, len(conns))]
    first = source.execute(f"SELECT min(id) FROM {table}").fetchone()[0]
    last = source.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
    ranges = list(zip([first, *cuts], [*(c - 1 for c in cuts), last]))
    statement = (
        f"SELECT group_concat(line, char(10)), max(id), count(*) FROM "
        f"(SELECT p.id AS id, {line} AS line FROM {table} p {join} WHERE p.id >= ? AND p.id <= ? ORDER BY p.id LIMIT {BLOCK_ROWS})"
    )

    def walk(conn: apsw.Connection, start: int, end: int) -> Iterator[tuple[str, int]]:
        while True:
            text, newest, rows = conn.execute(statement, (start, end)).fetchone()
            if not rows:
                return
            yield text, rows
            if newest >= end:
                return
            start = newest + 1

    with merged_ahead([walk(conn, start, end) for conn, (start, end) in zip(conns, ranges)], "replica-read") as read:
        yield from read
