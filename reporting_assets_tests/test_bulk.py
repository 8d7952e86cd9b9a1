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


def test_another_threads_block_does_not_leave_the_collector_off():
    inside, done = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            done.wait(5)

    worker = threading.Thread(target=other)
    worker.start()
    inside.wait(5)
    with collector_paused():  # starts while the other thread's block has it off
        done.set()
        worker.join(5)
    assert gc.isenabled()


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

    assert seen_decode == [False] and normalized == [False] and validated == [False]
    assert staged.read == 1 and gc.isenabled()
