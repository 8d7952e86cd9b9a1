"""The everyday path on a large warehouse: one-day refreshes and sensor ticks, on a database filled once.

Filling a 10M-payment warehouse takes long (the full backfill, see docs/benchmarks.md), so this
keeps the filled database between invocations instead of creating one per measurement as
``bench.run`` does:

    python -m bench.everyday --size 10000000 --database bench_everyday_10m --fill   # backfill + outstanding_job, once
    python -m bench.everyday --size 10000000 --database bench_everyday_10m          # 3 one-day refreshes, sensor ticks

Each refresh is ``daily_facts_job`` for the source's last day (as the schedule runs it: staged
payments, the two daily facts, the dimensions and their checks); the sensor ticks are
``bench.pipeline.run_sensor`` (first tick, idle ticks, then a tick after 1,000 payments changed,
10 moved and 5 deleted in a copy of the source). Figures are printed, not asserted. With
``--fill``, the peak RSS printed after the backfill is this process's (VmHWM): the backfill's,
Dagster's and pandas' imports included.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import psycopg2

from . import pipeline
from .common import BENCH_HOME, Case
from .run import ensure_source
from .worker import peak_rss_mb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.everyday", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000_000, help="payments in the generated source (default 10,000,000)")
    parser.add_argument("--database", default="bench_everyday", help="database kept between invocations (default bench_everyday)")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL without database")
    parser.add_argument("--fill", action="store_true", help="(re)create the database and fill it with the full backfill first")
    parser.add_argument("--refreshes", type=int, default=3, help="one-day refreshes to time (default 3)")
    args = parser.parse_args(argv)

    case = Case(payments=args.size)
    ensure_source(case)
    url = f"{args.server}/{args.database}"
    params = {
        "url": url, "source": str(case.source), "home": str(BENCH_HOME / "home"), "as_of": case.end.isoformat(),
        "first": case.first.isoformat(), "last": case.end.isoformat(),
    }
    if args.fill:
        admin = psycopg2.connect(f"{args.server}/postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
            cur.execute(f'CREATE DATABASE "{args.database}"')
        admin.close()
        filled = pipeline.run_jobs(params)
        print(
            f"full backfill: {filled['seconds']:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in filled['parts'].items())}); "
            f"peak RSS of this process so far {peak_rss_mb():,.0f} MB",
            flush=True,
        )

    refreshes = [pipeline.run_jobs({**params, "first": case.end.isoformat(), "outstanding": False})["seconds"] for _ in range(args.refreshes)]
    print(f"one-day refresh ({case.end}): {', '.join(f'{s:.2f}' for s in refreshes)} s; median {statistics.median(refreshes):.2f} s", flush=True)
    ticks = pipeline.run_sensor(params)
    parts = ticks["parts"]
    print(
        f"sensor: first tick {parts['first_tick']:.3f} s, idle tick {parts['idle_tick']:.3f} s (median of 3), "
        f"tick after changes with deletions {parts['tick_after_changes']:.3f} s; run requests {ticks['run_requests']}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
