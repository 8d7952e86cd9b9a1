"""Bring the billing replica up to date with the SQLite source: cheap when little changed.

Per table, in one transaction under an advisory lock (two runs syncing at once take turns):

* rows changed since the last copy, by the keyset ``(updated_at, id)`` (the index on
  ``updated_at`` the source should have makes it a range scan), are upserted;
* deletions (and rows that appeared without a newer ``updated_at``) are noticed when the
  source's row count differs from the copy's; they are then found by comparing counts per
  range of ids (counting a range of the rowid is fast in SQLite) and fetching only the ids of
  the ranges that differ;
* patients: only the pseudonyms of the ids that exist are kept; new ids are appended, and any
  other difference in count reloads them.

Before any of that, the files' stamp (source.reader.file_stamp: identity, size, modification and
change times of the database file and its write-ahead log) is compared with the one the last sync kept
(raw.source_stamp, sql/017): when it is the same, nothing was written to the source since, and
the sync reads nothing from it (counting a 10M-payment source's rows costs up to 1.1 s when its
file is not in the page cache).

A different pseudonym key, or an empty copy, copies everything again. A table copied whole is
read by parallel_read's readers where they see what this sync's read transaction sees, else on
the sync's own connection.

Each sync also records what it changed that staging's reuse of staged days depends on
(:class:`ReplicaChange`, sql/010_replica_changes.sql): the days of the payments it added,
changed or removed, whether what payments are resolved against changed, and whether invoices
or patients were added.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import psycopg2.extensions
from psycopg2 import sql

from ..bulk import collector_paused
from ..overlap import load_while_producing
from ..source import reader
from ..source.contract import INVOICE_COLUMNS, PAYMENT_COLUMNS
from ..staging.parsing import parse_dates
from ..staging.pseudonym import Pseudonymizer
from ..warehouse.writer import analyze_if_large, build_indexes, first_load
from . import codec, parallel_read

CHUNK_ROWS = 100_000
CHANGED_CHUNK_ROWS = 25_000  # changed rows come in smaller chunks, so that a day's worth overlaps reading and upserting
RECONCILE_ROWS = 20_000  # ids compared one by one when a range holds at most this many
_LOCK = ("raw.replica", "sync")
PATIENT_REF_FUNCTION = "reporting_patient_ref"  # codec.patient_ref, registered on the source connection
REFS_SCHEMA = "replica_refs"  # the in-memory database of pseudonyms attached while whole tables are copied
# A payment_date whose partition day SQLite can tell: a plain ISO date or ISO timestamp (no
# fraction or zone) of a real calendar day that pandas can hold; staging's parser gives exactly
# its first 10 characters. Any other value is parsed in Python (partition_days).
_PLAIN_DAY = (
    "CASE WHEN typeof(payment_date) = 'text' AND (payment_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]' "
    "OR payment_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]') "
    "AND date(substr(payment_date, 1, 10), '+0 days') IS substr(payment_date, 1, 10) "
    "AND substr(payment_date, 1, 10) BETWEEN '1677-09-22' AND '2262-04-10' THEN substr(payment_date, 1, 10) END"
)


@dataclasses.dataclass
class TableState:
    updated_at: str  # JSON of the last copied row's updated_at (keeps its SQLite type)
    last_id: int
    row_count: int
    max_id: int
    key_fingerprint: str
    source_file: str


@dataclasses.dataclass
class ReplicaChange:
    """What one sync changed that decides which staged days are still current (sql/010_replica_changes.sql).

    The days of changed payments go straight into raw.payment_day_versions; the rest is recorded
    with the version when the sync ends, if it changed anything.
    """

    version: int  # this sync's value of raw.replica_change_seq, taken under the replica's lock
    lookups: bool = False  # what a payment is resolved against changed: an invoice's number or patient, a removal, a reload
    appended: bool = False  # invoices or patients were added: payments rejected for referencing them may pass now
    payments_copied: bool = False  # the payments were copied whole: every day changed

    def mark_days(self, cur, days_select: str, params: tuple = ()) -> None:
        """Record that the payments of the days ``days_select`` returns (one date column, NULLs ignored) changed."""
        cur.execute(
            f"INSERT INTO raw.payment_day_versions (day, version) SELECT DISTINCT day, %s FROM ({days_select}) AS changed (day) "
            "WHERE day IS NOT NULL ON CONFLICT (day) DO UPDATE SET version = greatest(raw.payment_day_versions.version, EXCLUDED.version)",
            (self.version, *params),
        )


@dataclasses.dataclass
class SyncReport:
    """What one sync copied and removed, per table."""

    copied: dict[str, int] = dataclasses.field(default_factory=dict)
    removed: dict[str, int] = dataclasses.field(default_factory=dict)
    reloaded: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    source_unchanged: bool = False  # the files' stamp was the last sync's: nothing was read from them

    @property
    def changed(self) -> bool:
        """Whether the sync changed the replica at all."""
        return bool(self.reloaded) or any(self.copied.values()) or any(self.removed.values())

    def summary(self) -> str:
        parts = [f"{table} +{self.copied.get(table, 0)} -{self.removed.get(table, 0)}" for table in ("patients", "invoices", "payments")]
        if self.source_unchanged:
            return f"billing replica up to date in {self.seconds:.2f} s: the billing files were not written since the last sync"
        reloaded = f" (copied whole: {', '.join(self.reloaded)})" if self.reloaded else ""
        return f"billing replica synced in {self.seconds:.2f} s: {', '.join(parts)}{reloaded}"


def key_fingerprint(pseudonymize: Pseudonymizer) -> str:
    """Which pseudonym key the copy was made with, without revealing it (or any patient's pseudonym)."""
    return hashlib.sha256(pseudonymize(-1).encode()).hexdigest()[:16]


def source_file(source: sqlite3.Connection) -> str:
    """Which file the source connection reads: its path and inode (a copy moved into place is another file)."""
    path = reader.main_file(source)
    return f"{os.path.realpath(path)}:{os.stat(path).st_ino}"


def sync_replica(source: sqlite3.Connection, conn: psycopg2.extensions.connection, pseudonymize: Pseudonymizer) -> SyncReport:
    """Copy what changed in the source since the last sync into ``raw``; in the caller's transaction."""
    started = time.perf_counter()
    report = SyncReport()
    origin = (key_fingerprint(pseudonymize), source_file(source))
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", _LOCK)
        cur.execute("SELECT nextval('raw.replica_change_seq')")  # under the lock: larger than every earlier sync's
        change = ReplicaChange(cur.fetchone()[0])
        cur.execute("SELECT source_table, updated_at, last_id, row_count, max_id, key_fingerprint, source_file FROM raw.sync_state")
        states = {row[0]: TableState(*row[1:]) for row in cur.fetchall()}
    if any((state.key_fingerprint, state.source_file) != origin for state in states.values()):
        states = {}  # copied under another key (the pseudonyms would not match) or from another file
    stamp = reader.file_stamp(source)  # before anything is read: a write from now on changes the next stamp
    if stamp is not None and set(states) == _SYNCED and _stored_stamp(conn) == stamp:
        report.source_unchanged = True  # nothing written to the files since the last sync read them
        report.seconds = time.perf_counter() - started
        return report
    source.create_function(PATIENT_REF_FUNCTION, 1, lambda value: codec.patient_ref(value, pseudonymize), deterministic=True)
    whole = any(table.name not in states for table in TABLES)
    # the whole copy's readers are closed only after the read transaction ends (parallel_read.readers)
    with _patient_refs(source, pseudonymize) if whole else contextlib.nullcontext(), contextlib.ExitStack() as after_reading:
        # one read transaction on the source: every statement below sees the same snapshot of it
        source.execute("BEGIN")
        try:
            _sync_patients(source, conn, pseudonymize, states.get("patients"), origin, report, change)
            readers = after_reading.enter_context(_whole_copy_readers(source, pseudonymize)) if whole else None
            for table in TABLES:
                table.sync(source, conn, states.get(table.name), origin, report, change, readers)
        finally:
            source.rollback()
    if report.changed:
        _new_version(conn, change)
    _store_stamp(conn, stamp)
    report.seconds = time.perf_counter() - started
    return report


def _stored_stamp(conn: psycopg2.extensions.connection) -> str | None:
    with conn.cursor() as cur:
        cur.execute("SELECT stamp FROM raw.source_stamp")
        row = cur.fetchone()
    return row[0] if row else None


def _store_stamp(conn: psycopg2.extensions.connection, stamp: str | None) -> None:
    """Keep the stamp the files had before this sync read them (none when they were not settled: the next sync checks everything)."""
    with conn.cursor() as cur:
        cur.execute("DELETE FROM raw.source_stamp")
        if stamp is not None:
            cur.execute("INSERT INTO raw.source_stamp (stamp) VALUES (%s)", (stamp,))


def _new_version(conn: psycopg2.extensions.connection, change: ReplicaChange) -> None:
    """Record that the replica changed: its version becomes this sync's, and so do the versions of what changed."""
    version = change.version
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO raw.replica_version (version, lookups_version, appended_version, payments_copied_version) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (only_row) DO UPDATE SET version = EXCLUDED.version, "
            "changed_at = CURRENT_TIMESTAMP AT TIME ZONE 'UTC', "
            "lookups_version = greatest(raw.replica_version.lookups_version, EXCLUDED.lookups_version), "
            "appended_version = greatest(raw.replica_version.appended_version, EXCLUDED.appended_version), "
            "payments_copied_version = greatest(raw.replica_version.payments_copied_version, EXCLUDED.payments_copied_version)",
            (version, *(version if flag else 0 for flag in (change.lookups, change.appended, change.payments_copied))),
        )


@contextlib.contextmanager
def _patient_refs(source: sqlite3.Connection, pseudonymize: Pseudonymizer) -> Iterator[None]:
    """Every patient id's pseudonym in an in-memory table attached to the source connection (REFS_SCHEMA).

    Copying a whole table then joins it instead of calling Python once per row. The billing file
    itself stays read-only (opened with mode=ro); query_only is lifted only to fill this table.
    """
    source.execute("PRAGMA query_only = OFF")
    try:
        source.execute(f"ATTACH DATABASE ':memory:' AS {REFS_SCHEMA}")
        source.execute(f"CREATE TABLE {REFS_SCHEMA}.patient_refs (id INTEGER PRIMARY KEY, ref TEXT NOT NULL)")
        ids = source.execute("SELECT id FROM patients").fetchall()
        source.executemany(f"INSERT INTO {REFS_SCHEMA}.patient_refs VALUES (?, ?)", ((pid, pseudonymize(pid)) for (pid,) in ids))
        source.commit()
    finally:
        source.execute("PRAGMA query_only = ON")
    try:
        yield
    finally:
        source.execute(f"DETACH DATABASE {REFS_SCHEMA}")


@contextlib.contextmanager
def _whole_copy_readers(source: sqlite3.Connection, pseudonymize: Pseudonymizer) -> Iterator[list | None]:
    """parallel_read's readers for the tables copied whole, with the pseudonyms _patient_refs attached to ``source``; None where they cannot be used."""
    refs = _chunks(source.execute(f"SELECT id, ref FROM {REFS_SCHEMA}.patient_refs"))
    with parallel_read.readers(source, refs, lambda value: codec.patient_ref(value, pseudonymize), PATIENT_REF_FUNCTION) as readers:
        yield readers


def _save_state(conn: psycopg2.extensions.connection, table: str, state: TableState) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO raw.sync_state (source_table, updated_at, last_id, row_count, max_id, key_fingerprint, source_file, synced_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, CURRENT_TIMESTAMP AT TIME ZONE 'UTC') ON CONFLICT (source_table) DO UPDATE SET "
            "updated_at = EXCLUDED.updated_at, last_id = EXCLUDED.last_id, row_count = EXCLUDED.row_count, "
            "max_id = EXCLUDED.max_id, key_fingerprint = EXCLUDED.key_fingerprint, source_file = EXCLUDED.source_file, "
            "synced_at = EXCLUDED.synced_at",
            (table, state.updated_at, state.last_id, state.row_count, state.max_id, state.key_fingerprint, state.source_file),
        )


def _count_and_max(source: sqlite3.Connection, table: str) -> tuple[int, int]:
    count = source.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    max_id = source.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
    return count, max_id


def _copy_lines(conn: psycopg2.extensions.connection, table: str, columns: Sequence[str], lines: Sequence[str]) -> None:
    """COPY lines already in COPY's text format (pseudonyms, and the lines SQLite writes in ``select``)."""
    if not lines:
        return
    with conn.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO("\n".join(lines) + "\n"))


# ------------------------------------------------------------------ patients
def _sync_patients(source, conn, pseudonymize, state: TableState | None, origin: tuple[str, str], report: SyncReport, change: ReplicaChange) -> None:
    count, max_id = _count_and_max(source, "patients")
    copied = report.copied["patients"] = 0
    if state is not None and state.row_count == count and state.max_id == max_id:
        return
    with conn.cursor() as cur:
        if state is not None:  # appended ids first: the everyday case
            for chunk in _chunks(source.execute("SELECT id FROM patients WHERE id > ? ORDER BY id", (state.max_id,))):
                _copy_lines(conn, "raw.patients", ["pseudonym"], [pseudonymize(pid) for (pid,) in chunk])
                copied += len(chunk)
            change.appended |= copied > 0
        if state is None or state.row_count + copied != count:
            # removed (or inserted below the largest id): only pseudonyms are kept, so copy them again
            cur.execute("DELETE FROM raw.patients")
            report.removed["patients"] = max(state.row_count + copied - count, 0) if state else 0
            report.reloaded.append("patients")
            change.lookups = True
            copied = 0
            for chunk in _chunks(source.execute("SELECT id FROM patients")):
                _copy_lines(conn, "raw.patients", ["pseudonym"], [pseudonymize(pid) for (pid,) in chunk])
                copied += len(chunk)
    report.copied["patients"] = copied
    analyze_if_large(conn, sql.SQL("raw.patients"), copied)
    _save_state(conn, "patients", TableState("", 0, count, max_id, *origin))


# ------------------------------------------------------------------ invoices and payments
@dataclasses.dataclass(frozen=True)
class _KeyedTable:
    name: str
    columns: tuple[str, ...]
    date_column: int | None  # payments: their partition day is stored beside them

    @property
    def target(self) -> str:
        return f"raw.{self.name}"

    @property
    def stored_columns(self) -> list[str]:
        return ["id", "payment_day", "row_json"] if self.date_column is not None else ["id", "row_json"]

    def line(self, refs: str = "") -> tuple[str, str]:
        """The SQL expression of a row's COPY line over ``{name} p``, and the join it needs.

        SQLite writes each row's line in C: id, partition day (payments), and the row JSON in
        codec's format; Python only fills in the day of the few dates that are not plainly ISO.
        ``refs``: the schema of a ``patient_refs`` table to take patient pseudonyms from (see _patient_refs).
        """
        patient = f"CASE WHEN p.patient_id IS NULL THEN NULL ELSE {PATIENT_REF_FUNCTION}(p.patient_id) END"
        join = ""
        if refs:
            patient = (
                f"CASE WHEN typeof(p.patient_id) = 'integer' THEN coalesce(r.ref, {PATIENT_REF_FUNCTION}(p.patient_id)) "
                f"WHEN p.patient_id IS NULL THEN NULL ELSE {PATIENT_REF_FUNCTION}(p.patient_id) END"
            )
            join = f"LEFT JOIN {refs}.patient_refs r ON r.id = p.patient_id"
        values = [
            "p.id" if c == "id"  # INTEGER PRIMARY KEY: always an integer
            else patient if c == "patient_id"
            else codec.SQLITE_JSON_VALUE.format(column=f"p.{c}")
            for c in self.columns
        ]
        json_text = f"replace(json_array({', '.join(values)}), '\\', '\\\\')"
        day = "" if self.date_column is None else f"coalesce({_PLAIN_DAY}, '\\N') || char(9) || "
        return f"p.id || char(9) || {day}{json_text}", join

    def select(self, where: str = "", refs: bool = False, keyed: bool = True) -> str:
        """The source rows as (id, updated_at, COPY line), or with ``keyed=False`` as (COPY line,).

        A whole copy needs no keys: leaving them out saves building two Python objects per row.
        ``refs``: pseudonyms from the attached REFS_SCHEMA table (see _patient_refs).
        """
        line, join = self.line(REFS_SCHEMA if refs else "")
        keys = "p.id, p.updated_at, " if keyed else ""
        return f"SELECT {keys}{line} FROM {self.name} p {join} {where}"

    def stored_lines(self, rows: Sequence[tuple]) -> list[str]:
        """``select``'s COPY lines, with the partition day of the dates SQLite left to staging's parser."""
        lines = [row[-1] for row in rows]
        if self.date_column is None:
            return lines
        # a line is: id, day or \N, the row's JSON with its backslashes doubled (JSON never holds a raw tab)
        odd = [i for i, line in enumerate(lines) if "\t\\N\t" in line]
        if odd:
            parts = [lines[i].split("\t", 2) for i in odd]
            dates = [row[self.date_column] for row in codec.decode_many([text.replace("\\\\", "\\") for _, _, text in parts])]
            for i, (row_id, _, row_json), day in zip(odd, parts, partition_days(dates)):
                if day is not None:
                    lines[i] = f"{row_id}\t{day}\t{row_json}"
        return lines

    def stored_block(self, block: str) -> str:
        """``stored_lines`` of a block of newline-joined lines (parallel_read.blocks)."""
        if self.date_column is None or "\t\\N\t" not in block:
            return block
        return "\n".join(self.stored_lines([(line,) for line in block.split("\n")]))

    def sync(self, source, conn, state: TableState | None, origin: tuple[str, str], report: SyncReport, change: ReplicaChange, readers=None) -> None:
        """Bring this table's copy up to date; ``readers`` (parallel_read) read a whole copy, if given."""
        copied = 0
        with conn.cursor() as cur:
            if state is None:
                began = first_load(conn, sql.SQL(self.target))  # the first copy: the day index is built after the rows
                cur.execute(f"DELETE FROM {self.target}")
                report.reloaded.append(self.name)
                if self.date_column is None:
                    change.lookups = True
                else:
                    change.payments_copied = True
                # everything, in table order (a scan, not the updated_at index); the keyset starts after the newest row
                newest = source.execute(f"SELECT max(updated_at) FROM {self.name}").fetchone()[0]
                last_id = source.execute(f"SELECT coalesce(max(id), 0) FROM {self.name} WHERE updated_at = ?", (newest,)).fetchone()[0]
                state = TableState(codec.encode([newest]), last_id, 0, 0, *origin)

                def copy(lines: list[str]) -> int:
                    _copy_lines(conn, self.target, self.stored_columns, lines)
                    return len(lines)

                def copy_block(block: tuple[str, int]) -> int:
                    _copy_lines(conn, self.target, self.stored_columns, [block[0]])
                    return block[1]

                # SQLite builds the next lines while PostgreSQL loads these (both release the GIL)
                if readers is not None:
                    line, join = self.line(parallel_read.REFS_SCHEMA)
                    blocks = ((self.stored_block(text), rows) for text, rows in parallel_read.blocks(readers, source, self.name, line, join))
                    copied = load_while_producing(blocks, copy_block, "copy")
                else:
                    lines = (self.stored_lines(chunk) for chunk in _chunks(source.execute(self.select(refs=True, keyed=False))))
                    copied = load_while_producing(lines, copy, "copy")
                build_indexes(conn, sql.SQL(self.target), began)
                state.row_count += copied
            else:
                after = codec.decode_many([state.updated_at])[0][0]
                if after is None:  # the table was empty: every row is new
                    changed = source.execute(self.select("ORDER BY p.updated_at, p.id"))
                else:
                    changed = source.execute(self.select("WHERE (p.updated_at, p.id) > (?, ?) ORDER BY p.updated_at, p.id"), (after, state.last_id))

                def changed_lines() -> Iterator[list[str]]:
                    """The changed rows' COPY lines in chunks; the keyset moves past each chunk as it is produced."""
                    nonlocal copied
                    for chunk in _chunks(changed, CHANGED_CHUNK_ROWS):
                        yield self.stored_lines(chunk)
                        copied += len(chunk)
                        state.updated_at, state.last_id = codec.encode([chunk[-1][1]]), chunk[-1][0]

                # each chunk is upserted by a second thread while SQLite reads the next one
                state.row_count += load_while_producing(changed_lines(), functools.partial(self._upsert, conn, change), "upsert")
        count, max_id = _count_and_max(source, self.name)
        if count != state.row_count:
            removed, added = self._reconcile(source, conn, change)
            report.removed[self.name] = removed
            copied += added
        state.row_count, state.max_id = count, max_id
        report.copied[self.name] = copied
        analyze_if_large(conn, sql.SQL(self.target), copied + report.removed.get(self.name, 0))
        _save_state(conn, self.name, state)

    def _upsert(self, conn, change: ReplicaChange, lines: list[str]) -> int:
        """Insert or replace rows by id, recording what changed; the number of ids that were new."""
        cols = self.stored_columns
        incoming = f"_raw_incoming_{self.name}"
        with conn.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {incoming} (LIKE {self.target} INCLUDING DEFAULTS) ON COMMIT DROP")
            cur.execute(f"TRUNCATE {incoming}")
            _copy_lines(conn, incoming, cols, lines)
            if self.date_column is not None:  # a payment's new day, and the day it leaves
                change.mark_days(cur, f"SELECT payment_day FROM {incoming} UNION ALL SELECT r.payment_day FROM {self.target} r JOIN {incoming} i ON i.id = r.id")
            else:
                self._note_invoice_changes(cur, change)
            # invoices carry the version of the sync that wrote them: staged_invoices stages again only those
            written = [*cols, "version"] if self.date_column is None else cols
            values = [*cols, "%s"] if self.date_column is None else cols
            cur.execute(
                f"WITH upserted AS (INSERT INTO {self.target} ({', '.join(written)}) SELECT {', '.join(values)} FROM {incoming} "
                f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in written[1:])} RETURNING (xmax = 0) AS inserted) "
                "SELECT count(*) FILTER (WHERE inserted) FROM upserted",
                (change.version,) if self.date_column is None else None,
            )
            return cur.fetchone()[0]

    def _note_invoice_changes(self, cur, change: ReplicaChange) -> None:
        """Whether the incoming invoices add ids, or change what a payment is resolved against (number, patient).

        Compared in Python: PostgreSQL's JSON functions refuse the escaped NUL a source text may hold.
        """
        cur.execute(f"SELECT i.row_json, r.row_json FROM _raw_incoming_{self.name} i LEFT JOIN {self.target} r ON r.id = i.id")
        pairs = cur.fetchall()
        change.appended |= any(old is None for _, old in pairs)
        changed = [(new, old) for new, old in pairs if old is not None and new != old]
        if changed:
            news, olds = codec.decode_many([n for n, _ in changed]), codec.decode_many([o for _, o in changed])
            change.lookups |= any([new[i] for i in _INVOICE_LOOKUP] != [old[i] for i in _INVOICE_LOOKUP] for new, old in zip(news, olds))

    def _reconcile(self, source, conn, change: ReplicaChange) -> tuple[int, int]:
        """Make the copy hold exactly the source's ids: (rows removed, rows copied).

        Bisects the id space: where both sides count the same rows in a range, the range is
        taken as equal; where they differ, it is split until few enough ids remain to compare.
        """
        with conn.cursor() as cur:

            def copy_count(low: int, high: int) -> int:
                cur.execute(f"SELECT count(*) FROM {self.target} WHERE id BETWEEN %s AND %s", (low, high))
                return cur.fetchone()[0]

            def source_count(low: int, high: int) -> int:
                return source.execute(f"SELECT count(*) FROM {self.name} WHERE id BETWEEN ? AND ?", (low, high)).fetchone()[0]

            cur.execute(f"SELECT min(id), max(id) FROM {self.target}")
            bounds = [b for b in cur.fetchone() if b is not None]
            bounds += [b for b in source.execute(f"SELECT min(id), max(id) FROM {self.name}").fetchone() if b is not None]
            if not bounds:
                return 0, 0
            removed = added = 0
            pending = [(min(bounds), max(bounds))]
            while pending:
                low, high = pending.pop()
                in_source, in_copy = source_count(low, high), copy_count(low, high)
                if in_source == in_copy:
                    continue
                if in_source + in_copy > RECONCILE_ROWS and high > low:
                    step = (high - low) // 16 + 1
                    pending += [(start, min(start + step - 1, high)) for start in range(low, high + 1, step)]
                    continue
                source_ids = {row[0] for row in source.execute(f"SELECT id FROM {self.name} WHERE id BETWEEN ? AND ?", (low, high))}
                cur.execute(f"SELECT id FROM {self.target} WHERE id BETWEEN %s AND %s", (low, high))
                copy_ids = {row[0] for row in cur.fetchall()}
                gone = sorted(copy_ids - source_ids)
                if gone:
                    if self.date_column is not None:
                        change.mark_days(cur, f"SELECT payment_day FROM {self.target} WHERE id = ANY(%s::bigint[])", (gone,))
                    else:
                        change.lookups = True
                    cur.execute(f"DELETE FROM {self.target} WHERE id = ANY(%s::bigint[])", (gone,))
                    removed += len(gone)
                missing = sorted(source_ids - copy_ids)
                for first in range(0, len(missing), 10_000):
                    ids = missing[first : first + 10_000]
                    rows = source.execute(self.select(f"WHERE p.id IN ({', '.join('?' * len(ids))})"), ids).fetchall()
                    self._upsert(conn, change, self.stored_lines(rows))
                    added += len(rows)
        return removed, added


_INVOICE_LOOKUP = [INVOICE_COLUMNS.index(c) for c in ("invoice_number", "patient_id")]  # what a payment takes from its invoice
TABLES = (_KeyedTable("invoices", INVOICE_COLUMNS, None), _KeyedTable("payments", PAYMENT_COLUMNS, PAYMENT_COLUMNS.index("payment_date")))
_SYNCED = {"patients", *(table.name for table in TABLES)}  # the tables raw.sync_state has a row for once each was copied


def partition_days(values: Sequence[object]) -> list[str | None]:
    """The partition day staging gives each payment_date value (parsing.parse_dates), as text; None where it gives none."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    days = parse_dates(list(uniques)).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    days = np.append(days, None)  # position -1: a NULL value
    return [d if isinstance(d, str) else None for d in days[codes]]


def _chunks(cursor: sqlite3.Cursor, size: int = CHUNK_ROWS) -> Iterator[list[tuple]]:
    while True:
        with collector_paused():  # a chunk is up to CHUNK_ROWS tuples (bulk.py)
            rows = cursor.fetchmany(size)
        if not rows:
            return
        yield rows
