"""overlap: load_while_producing loads every item once on a second thread and never leaves one loading;
read_ahead reads one item ahead on a second thread and never leaves it reading; importing it caps
the glibc malloc arenas those threads take."""

import os
import subprocess
import sys
import threading
import time

import pytest

from reporting_assets import overlap
from reporting_assets.overlap import load_while_producing, read_ahead


def test_each_item_is_loaded_on_the_named_thread_while_the_next_is_produced():
    events = []
    produced_next = {1: threading.Event(), 2: threading.Event()}  # set when the item after it has been produced

    def produce():
        for item in (1, 2, 3):
            events.append(("produced", item))
            if item - 1 in produced_next:
                produced_next[item - 1].set()
            yield item

    def load(item):
        # a loader that ran in turn with the producer would wait here in vain and fail
        assert item not in produced_next or produced_next[item].wait(timeout=10)
        events.append(("loaded", item, threading.current_thread().name.startswith("loader")))
        return item * 10

    assert load_while_producing(produce(), load, "loader") == 60
    # each next item is produced while the previous one loads, never more than one ahead
    assert events == [("produced", 1), ("produced", 2), ("loaded", 1, True), ("produced", 3), ("loaded", 2, True), ("loaded", 3, True)]


def test_a_failing_producer_leaves_only_after_the_load_in_flight_finished():
    finished = []

    def load(item):
        time.sleep(0.2)
        finished.append(item)
        return 1

    def produce():
        yield "first"
        raise ValueError("broken chunk")

    with pytest.raises(ValueError, match="broken chunk"):
        load_while_producing(produce(), load, "loader")
    assert finished == ["first"]  # the exception did not leave the connection mid-load


def test_a_failing_load_stops_the_producer_and_raises():
    produced = []

    def produce():
        for item in range(5):
            produced.append(item)
            yield item

    def load(item):
        if item == 1:
            raise RuntimeError("COPY failed")
        return 1

    with pytest.raises(RuntimeError, match="COPY failed"):
        load_while_producing(produce(), load, "loader")
    assert produced == [0, 1, 2]  # item 2 was produced while item 1 loaded; its load was never submitted


def test_items_read_ahead_come_from_the_named_thread_one_ahead_of_the_caller():
    events = []
    read_ahead_of = {1: threading.Event(), 2: threading.Event()}  # set when the item after it has been read

    def read():
        for item in (1, 2, 3):
            events.append(("read", item, threading.current_thread().name.startswith("reader")))
            if item - 1 in read_ahead_of:
                read_ahead_of[item - 1].set()
            yield item

    got = []
    with read_ahead(read(), "reader") as items:
        for item in items:
            # a reader that waited for the caller would never read the next item meanwhile
            assert item not in read_ahead_of or read_ahead_of[item].wait(timeout=10)
            got.append(item)
            events.append(("used", item))
    assert got == [1, 2, 3]
    assert events == [("read", 1, True), ("read", 2, True), ("used", 1), ("read", 3, True), ("used", 2), ("used", 3)]


def test_an_error_while_reading_reaches_the_caller_after_the_items_before_it():
    def read():
        yield "first"
        raise LookupError("replica query failed")

    got = []
    with pytest.raises(LookupError, match="replica query failed"):
        with read_ahead(read(), "reader") as items:
            for item in items:
                got.append(item)
    assert got == ["first"]


def test_a_block_left_early_ends_only_after_the_reader_stopped_and_closed_its_items():
    state = {"read": 0, "closed": False, "reading": False}

    def read():
        try:
            for item in range(100):
                state["reading"] = True
                time.sleep(0.05)  # a query in flight
                state["reading"] = False
                state["read"] += 1
                yield item
        finally:
            state["closed"] = True

    with pytest.raises(RuntimeError, match="staging failed"):
        with read_ahead(read(), "reader") as items:
            assert next(items) == 0
            raise RuntimeError("staging failed")
    assert state["closed"] and not state["reading"]  # the caller may use the connection again
    assert state["read"] <= 3  # the item taken, at most one waiting and the one in hand: never the rest


_ARENAS_USED = """
import ctypes, sys, threading
if sys.argv[1] == "import":
    import reporting_assets.overlap
start, done = threading.Barrier(7), threading.Event()
def allocate():
    held = [bytearray(4096) for _ in range(100)]  # above pymalloc's 512 bytes: glibc malloc, in the thread's arena
    start.wait()
    done.wait()
threads = [threading.Thread(target=allocate) for _ in range(6)]
for thread in threads:
    thread.start()
start.wait()
ctypes.CDLL(None).malloc_stats()  # one "Arena N:" block per arena, on stderr
done.set()
"""


@pytest.mark.parametrize(("how", "most"), [("import", overlap.MALLOC_ARENAS), ("no-import", 7)])
def test_importing_overlap_caps_the_malloc_arenas_threads_take(how, most):
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    result = subprocess.run([sys.executable, "-c", _ARENAS_USED, how], capture_output=True, text=True, env=env, timeout=60, check=True)
    arenas = result.stderr.count("Arena ")
    # six threads allocating at once: one arena each plus the main thread's, unless capped
    assert arenas == most, result.stderr
