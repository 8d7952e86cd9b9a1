"""The billing replica (raw schema): exact copies of the source values, kept current by incremental syncs.

Each sync runs against a real SQLite file and the test's PostgreSQL database; the copy is
compared with what the source holds after inserts, updates, moves, deletions, rows that
appear below the cursor and a change of pseudonym key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing

import pandas as pd

from reporting_assets.replica import codec, reads
from reporting_assets.replica.sync import sync_replica
from reporting_assets.source import reader
from reporting_assets.source.contract import PAYMENT_COLUMNS
from reporting_assets.staging.parsing import parse_dates
from reporting_assets.staging.pseudonym import Pseudonymizer
from reporting_assets.warehouse.database import transaction

from conftest import TEST_KEY, fake_patient, pseudonym, query, ts, write_source

PSEUDONYMS = Pseudonymizer(TEST_KEY.encode())


VALUES = [7, -(2**63) + 1, 2**63 - 1, 10.005, 0.1 + 0.2, 2 / 3, 1e300, 5e-324, float("inf"), float("-inf"), "12.50", "a\x00b",
          "tab\tquote\"back\\slash\r\n", "", "é€😀", b"\x00\xff", None]


def test_every_sqlite_value_comes_back_with_its_type():
    """Through SQLite's own JSON (how whole tables are copied) and through the Python encoder (the sync's cursor)."""
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("CREATE TABLE t (v)")
        conn.executemany("INSERT INTO t VALUES (?)", [(v,) for v in VALUES])
        texts = [t for (t,) in conn.execute(f"SELECT json_array({codec.SQLITE_JSON_VALUE.format(column='v')}) FROM t ORDER BY rowid")]
    from_sqlite = [row[0] for row in codec.decode_many(texts)]
    (from_python,) = codec.decode_many([codec.encode(VALUES)])
    for decoded in (from_sqlite, from_python):
        assert decoded == VALUES
        assert [type(v) for v in decoded] == [type(v) for v in VALUES]
    assert not any("\x00" in t for t in texts)  # PostgreSQL text cannot hold a NUL
    (nan,) = codec.decode_many([codec.encode([float("nan")])])[0]
    assert math.isnan(nan)


def test_patient_references_are_stored_as_pseudonyms_only():
    assert codec.patient_ref(42, PSEUDONYMS) == pseudonym(42)
    assert codec.patient_ref(None, PSEUDONYMS) is None
    for not_an_id in ("42", 42.0, b"42"):
        assert codec.patient_ref(not_an_id, PSEUDONYMS) == codec.NOT_A_PATIENT_ID


def _source(tmp_path):
    return write_source(
        tmp_path / "billing.db",
        patients=[fake_patient(1), fake_patient(2)],
        invoices=[(10, "INV-10", 1, "2026-03-01", "2026-03-15", 100.0, "open"), (11, "INV-11", None, "2026-03-01", "2026-03-15", 50.0, "open")],
        payments=[
            (100, 10, 1, "2026-03-02", 10.005, "paid", "card"),
            (101, 10, None, "2026-03-03T09:30:00", "20.00", "paid", "cash"),
            (102, 11, 2, "garbage", 5, "pending", None),
            (103, None, "1", "2026-03-04", 7.5, "failed", "card"),
        ],
    )


def _sync(url: str, path) -> object:
    with closing(sqlite3.connect(path)) as source, transaction(url) as conn:
        return sync_replica(source, conn, PSEUDONYMS)


def _replica_payments(url: str) -> dict[int, tuple]:
    rows = query(url, "SELECT id, payment_day::text, row_json FROM raw.payments ORDER BY id")
    return {row_id: (day, tuple(codec.decode_many([text])[0])) for row_id, day, text in rows}


def _expected(path) -> dict[int, tuple]:
    """The source's payments as the replica should hold them, computed independently of the sync."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(f"SELECT {', '.join(PAYMENT_COLUMNS)} FROM payments").fetchall()
    expected = {}
    for row in rows:
        values = list(row)
        values[2] = None if row[2] is None else (pseudonym(row[2]) if type(row[2]) is int else codec.NOT_A_PATIENT_ID)
        text = row[3] if isinstance(row[3], str) else ""
        day = text[:10] if text[:4].isdigit() and len(text) >= 10 and text[4] == "-" else None
        expected[row[0]] = (day, tuple(values))
    return expected


def test_first_sync_copies_every_row_exactly_and_no_patient_id(tmp_path, database_url):
    path = _source(tmp_path)
    report = _sync(database_url, path)
    assert report.copied == {"patients": 2, "invoices": 2, "payments": 4}
    assert sorted(report.reloaded) == ["invoices", "patients", "payments"]
    assert _replica_payments(database_url) == _expected(path)
    assert _replica_payments(database_url)[100][1][4] == 10.005  # still a REAL, not text
    assert query(database_url, "SELECT pseudonym FROM raw.patients ORDER BY 1") == sorted([(pseudonym(1),), (pseudonym(2),)])
    invoices = dict(query(database_url, "SELECT id, row_json FROM raw.invoices"))
    assert codec.decode_many([invoices[10]])[0][2] == pseudonym(1)
    # no patient reference is stored as the source's integer id: a pseudonym, the marker or NULL
    stored_refs = {row[2] for _, row in _replica_payments(database_url).values()}
    assert stored_refs == {pseudonym(1), pseudonym(2), None}  # "1" in an INTEGER column is stored as 1 by SQLite
    # nothing changed: the next sync copies nothing
    again = _sync(database_url, path)
    assert again.copied == {"patients": 0, "invoices": 0, "payments": 0}
    assert again.reloaded == []


def test_the_first_copy_builds_the_day_index_after_the_rows(tmp_path, database_url):
    """raw.payments starts empty: its day index is dropped and built again in one pass (writer.first_load); later syncs keep it."""
    from reporting_assets_tests.test_writer import indexes

    before = indexes(database_url, "raw.payments")
    _sync(database_url, _source(tmp_path))
    copied = indexes(database_url, "raw.payments")
    assert {name: d for name, (_, d) in copied.items()} == {name: d for name, (_, d) in before.items()}
    assert [name for name in before if copied[name][0] != before[name][0]] == ["raw.raw_payments_payment_day"]
    assert query(database_url, "SELECT count(*) FROM raw.payments WHERE payment_day = '2026-03-02'") != [(0,)]


def test_changes_moves_and_deletions_reach_the_replica(tmp_path, database_url):
    path = _source(tmp_path)
    _sync(database_url, path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE payments SET payment_date = '2026-03-09', amount = 11, updated_at = ? WHERE id = 100", (ts("2026-03-10"),))
        conn.execute("DELETE FROM payments WHERE id = 101")
        conn.execute("INSERT INTO payments VALUES (104, 10, 1, '2026-03-05', 3, 'paid', 'card', ?, ?)", (ts("2026-03-10"), ts("2026-03-10")))
        conn.commit()
    report = _sync(database_url, path)
    assert report.removed == {"payments": 1}
    assert report.copied["payments"] == 2  # 100 changed, 104 new
    assert _replica_payments(database_url) == _expected(path)
    with closing(sqlite3.connect(path)) as conn:
        # a row added with an old updated_at (below the cursor) is found by the count check
        conn.execute("INSERT INTO payments VALUES (5, 10, 1, '2026-03-06', 4, 'paid', 'card', ?, ?)", (ts("2025-12-01"), ts("2025-12-01")))
        conn.commit()
    report = _sync(database_url, path)
    assert report.copied["payments"] == 1 and report.removed == {"payments": 0}
    replica = _replica_payments(database_url)
    assert replica == _expected(path)
    assert replica[100][0] == "2026-03-09" and replica[100][1][4] == 11
    assert 101 not in replica
    assert query(database_url, "SELECT row_count FROM raw.sync_state WHERE source_table = 'payments'") == [(5,)]


# payment dates SQLite cannot place on a day itself: Python's parser (staging's) decides their day
ODD_DATES = ["2026-03-05 10:00:00", "2026-03-06T23:30:00Z", "2026-03-07T10:00:00.250", "2026-03-08T01:00:00+14:00",
             "2026-02-30", "garbage", 20260309, 7.5, b"2026-03-10", "2026-03-11\\x"]


def _day_staging_gives(value: object) -> str | None:
    parsed = parse_dates([value])[0]
    return None if pd.isna(parsed) else parsed.strftime("%Y-%m-%d")


def test_dates_sqlite_cannot_place_get_the_day_staging_gives_them(tmp_path, database_url):
    """In a whole copy (lines only) and in an incremental one (keyed rows) alike."""
    path = _source(tmp_path)
    with closing(sqlite3.connect(path)) as conn:
        conn.executemany(
            "INSERT INTO payments VALUES (?, 10, 1, ?, 1, 'paid', 'card', ?, ?)",
            [(200 + i, value, ts("2026-01-01"), ts("2026-01-01")) for i, value in enumerate(ODD_DATES)],
        )
        conn.commit()
    _sync(database_url, path)
    with closing(sqlite3.connect(path)) as conn:
        conn.executemany(
            "INSERT INTO payments VALUES (?, 10, 1, ?, 1, 'paid', 'card', ?, ?)",
            [(300 + i, value, ts("2026-03-10"), ts("2026-03-10")) for i, value in enumerate(ODD_DATES)],
        )
        conn.commit()
    assert _sync(database_url, path).copied["payments"] == len(ODD_DATES)
    days = dict(query(database_url, "SELECT id, payment_day::text FROM raw.payments WHERE id >= 200"))
    expected = {base + i: _day_staging_gives(value) for base in (200, 300) for i, value in enumerate(ODD_DATES)}
    assert days == expected
    assert sum(day is not None for day in expected.values()) >= 8  # most of them do have a day


def test_changed_rows_in_several_chunks_are_each_upserted_by_a_second_thread(tmp_path, database_url, monkeypatch):
    from reporting_assets.replica import sync

    path = _source(tmp_path)
    _sync(database_url, path)
    with closing(sqlite3.connect(path)) as conn:
        conn.executemany("INSERT INTO payments VALUES (?, 10, 1, '2026-03-05', 3, 'paid', 'card', ?, ?)", [(i, ts("2026-03-10"), ts("2026-03-10")) for i in range(200, 207)])
        conn.execute("UPDATE payments SET amount = 12, updated_at = ? WHERE id = 100", (ts("2026-03-11"),))
        conn.commit()
    upserts = []
    monkeypatch.setattr(sync, "CHANGED_CHUNK_ROWS", 3)
    monkeypatch.setattr(
        sync._KeyedTable, "_upsert", lambda self, conn, change, lines, upsert=sync._KeyedTable._upsert: upserts.append((self.name, threading.current_thread().name)) or upsert(self, conn, change, lines)
    )
    report = _sync(database_url, path)
    assert report.copied["payments"] == 8 and not report.removed
    assert _replica_payments(database_url) == _expected(path)
    assert upserts == [("payments", upserts[0][1])] * 3 and upserts[0][1].startswith("upsert")  # 3 + 3 + 2 rows, off the reading thread
    # the keyset ends at the last row copied: the next sync copies nothing
    assert _sync(database_url, path).copied["payments"] == 0


def test_many_deletions_across_a_wide_id_range_are_found(tmp_path, database_url):
    rows = [(i, None, 1, f"2026-03-{1 + i % 28:02d}", 1, "paid", "card") for i in range(1, 60_001)]
    rows.append((2**62, None, 1, "2026-03-01", 1, "paid", "card"))  # far from the others: bisection, not a scan of ids
    path = write_source(tmp_path / "wide.db", patients=[fake_patient(1)], payments=rows)
    _sync(database_url, path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DELETE FROM payments WHERE id % 997 = 0 OR id = ?", (2**62,))
        conn.commit()
        remaining = conn.execute("SELECT count(*) FROM payments").fetchone()[0]
    report = _sync(database_url, path)
    assert report.removed["payments"] == 60_000 // 997 + 1
    assert query(database_url, "SELECT count(*) FROM raw.payments") == [(remaining,)]
    assert query(database_url, "SELECT count(*) FROM raw.payments WHERE id %% 997 = 0 OR id = %s", (2**62,)) == [(0,)]


def test_patients_added_and_removed(tmp_path, database_url):
    path = _source(tmp_path)
    _sync(database_url, path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("INSERT INTO patients VALUES (3, 'A', 'B', NULL, NULL, NULL, NULL, NULL, NULL, ?, ?)", (ts("2026-03-10"), ts("2026-03-10")))
        conn.commit()
    assert _sync(database_url, path).reloaded == []
    assert query(database_url, "SELECT count(*) FROM raw.patients WHERE pseudonym = %s", (pseudonym(3),)) == [(1,)]
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DELETE FROM patients WHERE id = 1")
        conn.commit()
    assert _sync(database_url, path).reloaded == ["patients"]
    assert sorted(p for (p,) in query(database_url, "SELECT pseudonym FROM raw.patients")) == sorted([pseudonym(2), pseudonym(3)])


def test_another_pseudonym_key_copies_everything_again(tmp_path, database_url):
    path = _source(tmp_path)
    _sync(database_url, path)
    other = Pseudonymizer(b"another-key-0123456789abcdef")
    with closing(sqlite3.connect(path)) as source, transaction(database_url) as conn:
        report = sync_replica(source, conn, other)
    assert sorted(report.reloaded) == ["invoices", "patients", "payments"]
    assert query(database_url, "SELECT count(*) FROM raw.patients WHERE pseudonym = %s", (pseudonym(1),)) == [(0,)]


def test_lookups_hold_only_what_the_payments_reference(tmp_path, database_url):
    path = _source(tmp_path)
    _sync(database_url, path)
    with transaction(database_url) as conn:
        [(rows, lookups)] = list(reads.payments_with_lookups(conn, dt.date(2026, 3, 2), dt.date(2026, 3, 3)))
        undated = reads.undated_payments(conn, dt.date(2026, 3, 20))
    assert [row[0] for row in rows] == [100]
    assert list(lookups.invoices) == [10]
    assert [p.decode() for p in lookups.patients] == [pseudonym(1)]
    assert [row[0] for row in undated] == [102]


def test_the_replica_is_the_writers_alone(database_url):
    granted = query(
        database_url,
        "SELECT DISTINCT grantee FROM information_schema.role_table_grants WHERE table_schema = 'raw' AND grantee LIKE 'reporting%%'",
    )
    assert granted == [("reporting_writer",)]


def test_another_source_file_is_copied_whole(tmp_path, database_url):
    path = _source(tmp_path)
    _sync(database_url, path)
    # the same rows in another file (a restored copy moved into place, another clinic's database):
    # the same count of rows must not pass for the same rows
    other = write_source(tmp_path / "other.db", patients=[fake_patient(1)], payments=[(7, None, 1, "2026-03-02", 1, "paid", "card")] * 1)
    with closing(sqlite3.connect(other)) as conn:
        conn.executemany("INSERT INTO payments VALUES (?, NULL, 1, '2026-03-02', 1, 'paid', 'card', ?, ?)", [(i, ts("2026-01-01"), ts("2026-01-01")) for i in (8, 9, 10)])
        conn.commit()
    report = _sync(database_url, other)
    assert sorted(report.reloaded) == ["invoices", "patients", "payments"]
    assert sorted(_replica_payments(database_url)) == [7, 8, 9, 10]


def test_a_short_window_comes_in_several_chunks_and_stages_what_one_chunk_does(tmp_path, database_url, reference_database, monkeypatch):
    """A day's payments are cut into reads.PIPELINE_CHUNKS chunks (each read with its lookups ahead on one thread,
    staged on the run's, copied on a third): the same rows and rejects as the reference."""
    from reporting_assets.source.sample_data import SampleSpec, generate_sample_database
    from reporting_assets.warehouse import writer

    from conftest import make_resources, materialize_days

    assert [reads.pipelined_chunk_rows(n) for n in (0, 91_900, 400_000, 1_000_000)] == [20_000, 22_975, 50_000, 50_000]
    last = dt.date(2026, 3, 20)
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=100, payments=3_000, days=30, messy=True, end_date=last)).path
    materialize_days(make_resources(reference_database, source, tmp_path / "reference", today=last), "2026-02-19", "2026-03-20", selection=["staged_payments"])
    copies, lookups = [], []
    monkeypatch.setattr(reads, "MIN_CHUNK_ROWS", 1)
    monkeypatch.setattr(
        writer, "copy_frame", lambda conn, target, columns, frame, copy=writer.copy_frame: copies.append(threading.current_thread().name) or copy(conn, target, columns, frame)
    )
    monkeypatch.setattr(
        reads, "lookups_for", lambda conn, rows, look=reads.lookups_for: lookups.append(threading.current_thread().name) or look(conn, rows)
    )
    materialize_days(make_resources(database_url, source, tmp_path / "home", today=last), "2026-02-19", "2026-03-20", selection=["staged_payments"])
    assert len(copies) == reads.PIPELINE_CHUNKS
    assert all(name.startswith("copy") for name in copies)  # by the copying thread, not the one staging the next chunk
    # the window's chunks are looked up on the reading-ahead thread; the undated candidates after it, on the run's
    assert lookups[:-1] == ["replica-read"] * reads.PIPELINE_CHUNKS and lookups[-1] != "replica-read"
    staged = "SELECT source_payment_id, patient_id, invoice_id, payment_date, amount_cents, payment_status FROM staging.payments ORDER BY 1"
    rejects = "SELECT source_id, partition_key, reasons FROM reporting.quarantine ORDER BY 1"
    assert query(database_url, staged) == query(reference_database, staged) != []
    assert query(database_url, rejects) == query(reference_database, rejects) != []


def _replica_rows(url: str) -> dict[str, dict[int, tuple]]:
    """Both keyed tables of the replica, decoded: id -> (payment day or None, row values)."""
    rows = {}
    for table, day in (("invoices", "NULL"), ("payments", "payment_day::text")):
        stored = query(url, f"SELECT id, {day}, row_json FROM raw.{table}")
        rows[table] = {row_id: (d, tuple(codec.decode_many([text])[0])) for row_id, d, text in stored}
    return rows


def _wide_source(path):
    """Sparse ids, every kind of SQLite value and date staging meets, in more rows than one block holds."""
    values = [v for v in VALUES if v is not None]  # where the source's columns are NOT NULL
    payments = [(3 * i + 1, 10 if i % 4 else None, (i % 3) or None, ODD_DATES[i % len(ODD_DATES)] if i % 5 == 0 else f"2026-03-{i % 28 + 1:02d}",
                 values[i % len(values)], "paid", "card") for i in range(60)]
    payments += [(10**12, "10", "1", 20260301, 1.5, b"\x01", None)]  # far beyond the others, and wrongly typed
    payments += [(-(2**63), 10, 1, "2026-03-02", 1, "paid", "card"), (2**63 - 1, 10, 1, "2026-03-02", 2, "paid", "card")]  # the int64 extremes
    invoices = [(10, "INV-10", 1, "2026-03-01", "2026-03-15", 100.0, "open")]
    invoices += [(100 + 7 * i, values[i] if i < len(values) else f"INV-{i}", VALUES[(i + 3) % len(VALUES)], "2026-03-01", "2026-03-15",
                  values[(i + 5) % len(values)], "open") for i in range(40)]
    return write_source(path, patients=[fake_patient(1), fake_patient(2)], invoices=invoices, payments=payments)


def test_the_first_copy_read_in_parallel_blocks_equals_the_source_and_the_one_connection_copy(tmp_path, database_url, monkeypatch):
    """Two readers, each walking its half of the ids in blocks of 3 rows: the copy the one-connection path makes, and the source's rows."""
    from reporting_assets.replica import parallel_read

    monkeypatch.setattr(parallel_read, "BLOCK_ROWS", 3)
    read = []
    blocks = parallel_read.blocks

    def counted(conns, source, table, line, join):
        for text, rows in blocks(conns, source, table, line, join):
            read.append((table, rows))
            yield text, rows

    monkeypatch.setattr(parallel_read, "blocks", counted)
    path = _wide_source(tmp_path / "billing.db")
    assert _sync(database_url, path).copied == {"patients": 2, "invoices": 41, "payments": 63}
    in_parallel = _replica_rows(database_url)
    assert in_parallel["payments"] == {i: (_day_staging_gives(values[3]), values) for i, (_, values) in _expected(path).items()}
    assert [n for table, n in read if table == "payments"].count(3) >= 19 and sum(n for t, n in read if t == "payments") == 63
    assert sum(n for t, n in read if t == "invoices") == 41

    # the same file under another name is copied whole again, now on the sync's own connection
    @contextlib.contextmanager
    def no_readers(*args, **kwargs):
        yield None

    monkeypatch.setattr(parallel_read, "readers", no_readers)
    read.clear()
    alone = shutil.copyfile(path, tmp_path / "copy.db")
    assert sorted(_sync(database_url, alone).reloaded) == ["invoices", "patients", "payments"]
    assert read == []
    assert _replica_rows(database_url) == in_parallel


def test_a_wal_source_is_read_on_the_syncs_own_connection(tmp_path, database_url, monkeypatch):
    """A new connection to a WAL database may see later commits than the sync's read transaction: no parallel readers there."""
    from reporting_assets.replica import parallel_read

    monkeypatch.setattr(parallel_read, "blocks", lambda *args: (_ for _ in ()).throw(AssertionError("read in parallel")))
    path = _wide_source(tmp_path / "billing.db")
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    assert _sync(database_url, path).copied["payments"] == 63
    assert _replica_payments(database_url) == {i: (_day_staging_gives(values[3]), values) for i, (_, values) in _expected(path).items()}


_WAITING_WRITER = """
import sys, time, apsw
conn = apsw.Connection(sys.argv[1])
said = []
def busy(tries):  # called while the commit waits for the readers to leave, holding the pending lock
    if not said:
        print("waiting", flush=True)
        said.append(True)
    time.sleep(0.01)
    return tries < 6000
conn.set_busy_handler(busy)
conn.execute("BEGIN")
conn.execute("INSERT INTO payments VALUES (900, 10, 1, '2026-03-02', 1, 'paid', 'card', '2026-01-01', '2026-01-01')")
conn.execute("COMMIT")
"""


def _waiting_writer(path) -> subprocess.Popen:
    """Another process (as the billing application is: POSIX locks belong to the process) committing a payment, once it waits for readers to leave."""
    writer = subprocess.Popen([sys.executable, "-c", _WAITING_WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "waiting\n"
    return writer


def test_parallel_readers_keep_writers_out_until_the_sync_ends(tmp_path):
    """The readers' statements never release the shared lock the sync's own connection relies on (one lock per process)."""
    from reporting_assets.replica import parallel_read

    path = _source(tmp_path)
    with closing(sqlite3.connect(path)) as source, contextlib.ExitStack() as after_reading:
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM payments").fetchone()  # the sync's shared lock
        readers = after_reading.enter_context(parallel_read.readers(source, [[(1, "pt_1")]], str, "ref_test"))
        assert len(readers) == parallel_read.READERS
        writer = _waiting_writer(path)
        for _ in range(3):
            assert [c.execute("SELECT count(*) FROM payments").fetchone() for c in readers] == [(4,)] * parallel_read.READERS
            assert source.execute("SELECT count(*) FROM payments").fetchone() == (4,)
            time.sleep(0.1)
        assert writer.poll() is None
        source.rollback()
    assert writer.wait(60) == 0  # in once the readers are closed


def test_no_parallel_reader_while_a_writer_waits_to_commit(tmp_path):
    """A writer waiting for the sync's shared lock holds SQLite's pending lock, which admits no new reader: the sync then reads alone."""
    from reporting_assets.replica import parallel_read

    path = _source(tmp_path)
    with closing(sqlite3.connect(path)) as source:
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM payments").fetchone()
        writer = _waiting_writer(path)
        try:
            with parallel_read.readers(source, [], str, "ref_test") as readers:
                assert readers is None
                time.sleep(0.2)
                assert writer.poll() is None  # still kept out by the sync's shared lock
                assert source.execute("SELECT count(*) FROM payments").fetchone() == (4,)
                source.rollback()
        finally:
            source.rollback()
            assert writer.wait(60) == 0
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM payments").fetchone() == (5,)


def test_a_source_path_with_uri_characters_is_opened_and_copied(tmp_path, database_url):
    """"?", "#", "%" and spaces are quoted in the file: URIs of the sync's connection and of the parallel readers."""
    from reporting_assets.source.reader import open_source

    folder = tmp_path / "clinic #2? 100%20"
    folder.mkdir()
    path = _wide_source(folder / "billing db?.sqlite")
    with open_source(path) as source, transaction(database_url) as conn:
        assert sync_replica(source, conn, PSEUDONYMS).copied == {"patients": 2, "invoices": 41, "payments": 63}
    assert _replica_payments(database_url) == {i: (_day_staging_gives(values[3]), values) for i, (_, values) in _expected(path).items()}


def _sync_reading(url: str, path) -> tuple[object, list[str]]:
    """A sync, and the statements it ran on the source that read one of its tables."""
    statements: list[str] = []
    with closing(sqlite3.connect(path)) as source, transaction(url) as conn:
        source.set_trace_callback(statements.append)
        report = sync_replica(source, conn, PSEUDONYMS)
    return report, [s for s in statements if any(table in s for table in ("payments", "invoices", "patients"))]


def test_a_source_nobody_wrote_to_since_the_last_sync_is_not_read(tmp_path, database_url, monkeypatch):
    """The files' stamp (sql/017): the same one as at the last sync, taken when they had been left alone, means nothing to read."""
    monkeypatch.setattr(reader, "SETTLED_NS", 1_000_000_000)  # files left alone for 1 s are settled (3 s in use)
    path = _source(tmp_path)
    time.sleep(1.1)
    _sync(database_url, path)  # the whole copy, keeping the stamp the files had before it
    report, read = _sync_reading(database_url, path)
    assert report.source_unchanged and not report.changed and read == []
    assert "not written since the last sync" in report.summary()
    # a write moves the file's modification time past the stamp's: the next sync reads the source and finds it
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DELETE FROM payments WHERE id = 103")
        conn.execute("UPDATE payments SET amount = 12, updated_at = ? WHERE id = 100", (ts("2026-03-10"),))
        conn.commit()
    report, read = _sync_reading(database_url, path)
    assert not report.source_unchanged and report.removed == {"payments": 1} and report.copied["payments"] == 1
    assert _replica_payments(database_url) == _expected(path)
    # that sync's stamp was taken just after a write, which another could follow within the same tick of the
    # file system's clock: it is not kept, and the next sync reads the source again though nothing changed
    assert query(database_url, "SELECT count(*) FROM raw.source_stamp") == [(0,)]
    report, read = _sync_reading(database_url, path)
    assert not report.source_unchanged and any("count(*)" in statement for statement in read)


def test_a_commit_still_in_the_write_ahead_log_is_seen(tmp_path, database_url, monkeypatch):
    """In WAL mode a commit leaves the database file as it was: the log's stamp is part of the files'."""
    monkeypatch.setattr(reader, "SETTLED_NS", 1_000_000_000)
    path = _source(tmp_path)
    with closing(sqlite3.connect(path)) as application:
        assert application.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
        application.execute("PRAGMA wal_autocheckpoint = 0")
        time.sleep(1.1)
        _sync(database_url, path)
        assert _sync_reading(database_url, path)[0].source_unchanged
        before = os.stat(path).st_mtime_ns
        application.execute("INSERT INTO payments VALUES (104, 10, 1, '2026-03-05', 3, 'paid', 'card', ?, ?)", (ts("2026-03-10"), ts("2026-03-10")))
        application.commit()
        assert os.stat(path).st_mtime_ns == before  # in the log only
        report, _ = _sync_reading(database_url, path)
        assert not report.source_unchanged and report.copied["payments"] == 1
        assert _replica_payments(database_url) == _expected(path)
