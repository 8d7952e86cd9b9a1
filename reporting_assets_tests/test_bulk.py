"""Bulk work runs with the cyclic garbage collector paused, and leaves it as it found it."""

from __future__ import annotations

import datetime as dt
import gc
import threading

import pandas as pd
import pytest

from reporting_assets import schemas
from reporting_assets.bulk import collector_paused
from reporting_assets.replica import codec
from reporting_assets.staging import payments
from reporting_assets.staging.lookups import SourceLookups


@pytest.fixture(autouse=True)
def collector_on():
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_paused_in_the_block_and_on_again_after_it_even_when_it_raises():
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the inner block leaves it off for the outer one
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), collector_paused():
        1 / 0
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_blocks_in_two_threads_keep_it_paused_until_the_last_one_ends():
    inside, done = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            assert done.wait(5)

    worker = threading.Thread(target=other)
    worker.start()
    assert inside.wait(5)
    with collector_paused():  # starts while the other thread's block has it off
        done.set()
        worker.join(5)
        assert not worker.is_alive()
        assert not gc.isenabled()  # the other block ended first: this one is still bulk work
    assert gc.isenabled()


def test_chunked_reads_pause_it_per_chunk_and_never_across_a_yield(tmp_path):
    import sqlite3
    from contextlib import closing

    from reporting_assets.replica import sync

    fetched = []
    with closing(sqlite3.connect(tmp_path / "rows.db")) as conn:
        conn.execute("CREATE TABLE t (v)")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(7)])
        for chunk in sync._chunks(conn.execute("SELECT v FROM t"), 3):
            assert gc.isenabled()  # the consumer's code runs with the collector on
            fetched.append(len(chunk))
    assert fetched == [3, 3, 1] and gc.isenabled()


def test_replica_reads_never_hold_the_pause_across_a_yield(database_url):
    from reporting_assets.replica import reads
    from reporting_assets.warehouse.database import transaction

    fetched = []
    with transaction(database_url) as conn:
        rows = reads._rows(conn, "probe", "SELECT '[' || n || ']' FROM generate_series(1, 7) AS n", (), 3)
        for chunk in rows:
            assert gc.isenabled()  # the consumer's code (or the thread reading ahead) runs with the collector on
            fetched.append([row[0] for row in chunk])
    assert fetched == [[1, 2, 3], [4, 5, 6], [7]] and gc.isenabled()


def _recording_state(monkeypatch, owner, name: str) -> list[bool]:
    seen: list[bool] = []
    original = getattr(owner, name)

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return seen


def test_decoding_staging_and_validating_a_chunk_run_with_the_collector_paused(monkeypatch):
    seen_decode: list[bool] = []
    decoder = codec._DECODER

    class Spy:
        def decode(self, text):
            seen_decode.append(gc.isenabled())
            return decoder.decode(text)

    monkeypatch.setattr(codec, "_DECODER", Spy())
    assert codec.decode_many(['[1,"a",null]']) == [[1, "a", None]]

    normalized = _recording_state(monkeypatch, payments, "normalize_payments")
    lookups = SourceLookups([], [])
    staged = payments.stage_payments([[1, None, None, "2026-03-02", 5, "paid"]], lookups, dt.date(2026, 3, 3))

    tally = schemas.RuleTally(schemas.DimDate)
    validated = _recording_state(monkeypatch, schemas.DimDate, "validate")
    tally.add(pd.DataFrame({column: [] for column in schemas.DimDate.to_schema().columns}))

    from reporting_assets.staging import invoices

    invoice_checked = _recording_state(monkeypatch, invoices, "failure_reasons")
    totals = invoices.PaymentTotals(pd.Index([], dtype="int64"))
    invoices.stage_invoices([[10, "INV-10", None, "2026-03-01", "2026-03-15", 100.0, "open"]], lookups, totals)

    assert seen_decode == [False] and normalized == [False] and validated == [False] and invoice_checked == [False]
    assert staged.read == 1 and gc.isenabled()
