"""Bulk work on chunks of rows without CPython's cyclic garbage collector walking them again and again.

Decoding a chunk of replica rows, resolving its lookups or validating it allocates hundreds of
thousands of lists, tuples and pandas objects. Every few hundred allocations the collector runs
a pass, and its older generations walk every container still alive, so a pass over a big chunk
is paid many times: building the lookups of 500,000 invoices and 1,000,000 patients took
6.6-7.4 s with the collector on and 3.6-3.7 s with it paused (docs/benchmarks.md, "Fifth round").

The work in :func:`collector_paused` is one bounded unit (a chunk, a lookup): the rows it builds
hold no reference cycles, and whatever cyclic garbage the libraries it calls leave is found by
the collector's next pass, right after. Threads share the collector's switch, so blocks count
themselves under a lock: the first to start turns it off, the last to end turns it back on, and
only if it was on when the first started (a caller that turned it off keeps it off).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


_LOCK = threading.Lock()
_blocks = 0  # paused blocks running now, in any thread
_was_enabled = False  # the collector's state when the first of them started


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block; reference counting frees memory as usual."""
    global _blocks, _was_enabled
    with _LOCK:
        if _blocks == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _blocks += 1
    try:
        yield
    finally:
        with _LOCK:
            _blocks -= 1
            if _blocks == 0 and _was_enabled:
                gc.enable()


def bulk(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` (one bounded unit of bulk work) with the collector paused."""

    @functools.wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        with collector_paused():
            return function(*args, **kwargs)

    return paused
