"""Loading chunks into PostgreSQL while the next chunk is produced: one pattern, used by every bulk write.

A chunk is produced by work that releases the GIL in large parts (SQLite reading, numpy and
pandas), and loaded by a COPY or an upsert, during which psycopg2 releases it while the server
works. Run on two threads, the two overlap: the replica sync and the staging writes then take
about as long as the slower side instead of the sum of both (docs/benchmarks.md, "Fourth round"
and "Fifth round").
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def load_while_producing(items: Iterable[T], load: Callable[[T], int | None], thread_name: str) -> int:
    """Call ``load(item)`` for each item on a second thread (named ``thread_name``) while ``items`` produces the next.

    Returns the sum of what the loads return (None counts 0). At most one load is in flight, and
    it is waited for before any exception leaves, so the connection the loads use is never left
    in the middle of a statement. ``items`` must not use that connection.
    """
    total = 0
    # leaving the block, also by an exception, waits for the load in flight (shutdown(wait=True))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name) as loader:
        pending: concurrent.futures.Future | None = None
        for item in items:
            if pending is not None:
                total += pending.result() or 0
            pending = loader.submit(load, item)
        if pending is not None:
            total += pending.result() or 0
    return total
