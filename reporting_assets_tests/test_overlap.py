"""overlap.load_while_producing: every item loaded once, on the second thread, and never left loading."""

import threading
import time

import pytest

from reporting_assets.overlap import load_while_producing


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

    with pytest.raises(RuntimeError, match="COPY failed"):
        load_while_producing(produce(), load, "loader")
    assert produced == [0, 1, 2]  # item 2 was produced while item 1 loaded; its load was never submitted
