"""Overlapping the steps of bulk work on two threads: loading a chunk while the next is produced, reading ahead.

A chunk is produced by work that releases the GIL in large parts (SQLite reading, numpy and
pandas), and loaded by a COPY or an upsert, during which psycopg2 releases it while the server
works. Run on two threads, the two overlap: the replica sync and the staging writes then take
about as long as the slower side instead of the sum of both (docs/benchmarks.md, "Fourth round"
and "Fifth round"). The same holds one step earlier: reading the next chunk and its lookups from
the replica (mostly waiting for the server) while the current one is staged (``read_ahead``).

Each thread that allocates gets a glibc malloc arena of its own, up to eight per core, and
memory freed in one arena is not reused by another: with the writer's, the readers' and Arrow's
threads the process grows. Importing this module caps the arenas at ``MALLOC_ARENAS`` (glibc's
``mallopt(M_ARENA_MAX)``; an operator's ``MALLOC_ARENA_MAX`` wins). The 10M full backfill
peaked at 1,158 MB without the cap and 1,011 MB with it (docs/benchmarks.md, "Fifteenth round").
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let threads share ``arenas`` glibc malloc arenas; whether the limit was set (not on another C
    library, nor when the environment sets MALLOC_ARENA_MAX, which glibc reads at start)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return mallopt(_M_ARENA_MAX, arenas) == 1


limit_malloc_arenas()  # before this module's threads start


def load_while_producing(items: Iterable[T], load: Callable[[T], int], thread_name: str) -> int:
    """Call ``load(item)`` for each item on a second thread (named ``thread_name``) while ``items`` produces the next.

    Returns the sum of what the loads return (rows written). At most one load is in flight, and
    it is waited for before any exception leaves, so the connection the loads use is never left
    in the middle of a statement. ``items`` must not use that connection.
    """
    total = 0
    # leaving the block, also by an exception, waits for the load in flight (shutdown(wait=True))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name) as loader:
        pending: concurrent.futures.Future | None = None
        for item in items:
            if pending is not None:
                total += pending.result()
            pending = loader.submit(load, item)
        if pending is not None:
            total += pending.result()
    return total


_END = object()


@contextlib.contextmanager
def read_ahead(items: Iterable[T], thread_name: str = "replica-read") -> Iterator[Iterator[T]]:
    """``items`` for the block, each produced by a second thread (named ``thread_name``) while the block works on the one before.

    ``items`` is advanced on that thread only, so the connection it reads from is used by one
    thread at a time; while the server answers a query, the block's Python work goes on. An
    exception of ``items`` is raised where the block takes the next item. Leaving the block, also
    early or by an exception, waits for the thread to finish the item in hand and close ``items``:
    the connection is never left in the middle of a query when the caller uses it again.
    """
    with merged_ahead([items], thread_name) as ahead:
        yield ahead


@contextlib.contextmanager
def merged_ahead(sources: Sequence[Iterable[T]], thread_name: str) -> Iterator[Iterator[T]]:
    """The items of every one of ``sources``, each advanced on a thread of its own, in the order they are produced.

    As ``read_ahead`` (which is this with one source): each thread is at most one item ahead, the
    first exception of any source is raised where the block takes the next item, and leaving the
    block waits for every thread to finish its item in hand and close its source.
    """
    ahead = _ahead(sources, thread_name)
    try:
        yield ahead
    finally:
        ahead.close()


def _ahead(sources: Sequence[Iterable[T]], thread_name: str) -> Iterator[T]:
    handoff: queue.Queue = queue.Queue(maxsize=len(sources))  # one item ahead per thread, no more
    stop = threading.Event()

    def offer(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce(items: Iterable[T]) -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not offer((item, None)):
                    return
            offer((_END, None))
        except BaseException as exc:  # raised on the caller's thread
            offer((_END, exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    producers = [
        threading.Thread(target=produce, args=(items,), name=thread_name if len(sources) == 1 else f"{thread_name}-{i}", daemon=True)
        for i, items in enumerate(sources)
    ]
    for producer in producers:
        producer.start()
    try:
        running = len(producers)
        while running:
            item, error = handoff.get()
            if item is _END:
                if error is not None:
                    raise error
                running -= 1
                continue
            yield item
    finally:
        stop.set()
        for producer in producers:
            producer.join()
