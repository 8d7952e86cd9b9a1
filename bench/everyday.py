"""The everyday path on a large warehouse: one-day refreshes and sensor ticks, on a database filled once.

Filling a 10M-payment warehouse takes long (the full backfill, see docs/benchmarks.md), so this
keeps the filled database between invocations instead of creating one per measurement as
``bench.run`` does:

    python -m bench.everyday --size 10000000 --database bench_everyday_10m --fill   # backfill + outstanding_job, once
    python -m bench.everyday --size 10000000 --database bench_everyday_10m          # 3 one-day refreshes, sensor ticks

The warehouse is filled from its own copy of the source (``.reporting/bench/everyday/<database>.db``),
which the refreshes below change. Each refresh is ``daily_facts_job`` for the source's last day
(as the schedule and the sensor run it: sync, staged payments, the two daily facts, the
dimensions and their checks), timed twice over:

* day unchanged: the day is refreshed again with nothing new in the source (the least an
  everyday run does);
* day's payments new: the day's payments are first taken out of the source and the day refreshed
  (not timed), then put back with a newer ``updated_at`` and the day refreshed (timed): the run
  copies them into the replica, stages them and rebuilds every patient they touch, as on the
  day they arrive.
  ``outstanding_job`` then runs (timed apart), as the sensor and the daily schedule request it
  after such a change: it stages again only the invoices that changed, rebuilds
  ``outstanding_payments`` and rebuilds the ``dim_patient`` rows whose invoices or balance changed.

The one-day floor is then measured on the same warehouse, again without the day: the day's
final ``patient_payment_history`` rows (exported from the warehouse, as ``bench.floor`` does
for a backfill) are COPYed in, the day's revenue upserted (from the day's rows) and the day's payments added to
their patients' ``dim_patient`` rows in SQL, then rolled back: the least the database must do
when a day's payments arrive, whatever computes the rows.

With ``--profile``, one more such refresh runs under pyinstrument (not counted in the
medians) and its report is written next to the sources. The sensor ticks are
``bench.pipeline.run_sensor`` (first tick, idle ticks, then a tick after 1,000 payments
changed, 10 moved and 5 deleted in a copy of the source). Figures are printed, not asserted.
With ``--fill``, the peak RSS printed after the backfill is this process's (VmHWM): the
backfill's, Dagster's and pandas' imports included.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import psycopg2

from reporting_assets.warehouse.patient_changes import STATUSES

from . import pipeline
from .common import BENCH_HOME, Case
from .floor import HISTORY_COLUMNS
from .run import ensure_source
from .worker import peak_rss_mb


WITHHELD = "bench_withheld_payments"  # the day's payments while they are out of the source copy


def take_out_day(source: Path, day: dt.date) -> int:
    """Move the payments of ``day`` out of the source's payments table (into WITHHELD); how many."""
    with sqlite3.connect(source) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {WITHHELD}")
        conn.execute(f"CREATE TABLE {WITHHELD} AS SELECT * FROM payments WHERE substr(payment_date, 1, 10) = ?", (day.isoformat(),))
        conn.execute(f"DELETE FROM payments WHERE id IN (SELECT id FROM {WITHHELD})")
        return conn.execute(f"SELECT count(*) FROM {WITHHELD}").fetchone()[0]


def put_back_day(source: Path) -> int:
    """Put WITHHELD's payments back, updated after every row the source ever held (as new rows arrive); how many."""
    with sqlite3.connect(source) as conn:
        newest = conn.execute(f"SELECT max(u) FROM (SELECT max(updated_at) AS u FROM payments UNION ALL SELECT max(updated_at) FROM {WITHHELD})").fetchone()[0]
        stamp = (dt.datetime.fromisoformat(newest) + dt.timedelta(seconds=1)).isoformat()
        columns = [row[1] for row in conn.execute("PRAGMA table_info(payments)")]
        values = ", ".join("?" if c == "updated_at" else c for c in columns)
        conn.execute(f"INSERT INTO payments ({', '.join(columns)}) SELECT {values} FROM {WITHHELD}", (stamp,))
        count = conn.execute(f"SELECT count(*) FROM {WITHHELD}").fetchone()[0]
        conn.execute(f"DROP TABLE {WITHHELD}")
        return count


def day_rows(url: str, day: dt.date) -> str:
    """The day's final patient_payment_history rows as COPY text (the floor's input, as bench.floor exports it)."""
    buffer = io.StringIO()
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.copy_expert(
            cur.mogrify(f"COPY (SELECT {HISTORY_COLUMNS} FROM reporting.patient_payment_history WHERE payment_date = %s ORDER BY source_payment_id) TO STDOUT", (day,)).decode(),
            buffer,
        )
    return buffer.getvalue()


# the day's revenue as bench.floor computes it for a backfill, from the day's rows only, upserted (the
# day's row exists); its patients' counts and sums added to their dim_patient rows. (Until the
# eighteenth round this was bench.floor's statement itself, whose join reads the whole history:
# 2.3-2.5 s at 10M, more than the pipeline's own revenue step.)
_DAY_REVENUE = (
    "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) "
    "SELECT %(day)s::date, coalesce(sum(amount), 0), count(amount), coalesce(round(sum(amount) / nullif(count(amount), 0), 2), 0) "
    "FROM reporting.patient_payment_history WHERE payment_date = %(day)s AND payment_status = 'paid' "
    "ON CONFLICT (date_key) DO UPDATE SET total_revenue = EXCLUDED.total_revenue, payment_count = EXCLUDED.payment_count, "
    "average_payment = EXCLUDED.average_payment"
)
_DAY_PATIENTS = (
    "UPDATE reporting.dim_patient d SET first_payment_date = least(d.first_payment_date, p.day), "
    "last_payment_date = greatest(d.last_payment_date, p.day), "
    + ", ".join(f"{s}_count = d.{s}_count + p.{s}_count, {s}_amount = d.{s}_amount + p.{s}_amount" for s in STATUSES)
    + " FROM (SELECT patient_id, payment_date AS day, "
    + ", ".join(f"count(*) FILTER (WHERE payment_status = '{s}') AS {s}_count, coalesce(sum(amount) FILTER (WHERE payment_status = '{s}'), 0) AS {s}_amount" for s in STATUSES)
    + " FROM reporting.patient_payment_history WHERE payment_date = %(day)s GROUP BY patient_id, payment_date) AS p "
    "WHERE d.patient_id = p.patient_id"
)


def day_floor(url: str, day: dt.date, rows: str) -> dict[str, float]:
    """The least the database must do when a day's payments arrive: given their final history rows
    (``rows``), COPY them into the warehouse (which holds no row of the day), upsert the day's
    revenue and add them to their patients' dim_patient rows (patients without a row are not
    inserted: a lower bound). Seconds per part; rolled back."""
    parts = {}
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        cur.copy_expert(f"COPY reporting.patient_payment_history ({HISTORY_COLUMNS}) FROM STDIN", io.StringIO(rows))
        parts["copy_history"] = time.perf_counter() - started
        started = time.perf_counter()
        cur.execute(_DAY_REVENUE, {"day": day})
        parts["upsert_revenue"] = time.perf_counter() - started
        started = time.perf_counter()
        cur.execute(_DAY_PATIENTS, {"day": day})
        parts["update_dim_patient"] = time.perf_counter() - started
        conn.rollback()
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.everyday", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000_000, help="payments in the generated source (default 10,000,000)")
    parser.add_argument("--database", default="bench_everyday", help="database kept between invocations (default bench_everyday)")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL without database")
    parser.add_argument("--fill", action="store_true", help="(re)create the database and fill it with the full backfill first")
    parser.add_argument("--refreshes", type=int, default=3, help="one-day refreshes to time (default 3; 0 with --fill: only fill)")
    parser.add_argument("--profile", action="store_true", help="also profile one more refresh with the day's payments new, with pyinstrument (pip install pyinstrument)")
    args = parser.parse_args(argv)

    case = Case(payments=args.size)
    ensure_source(case)
    source = BENCH_HOME / "everyday" / f"{args.database}.db"  # the refreshes change it: never the cached source
    if args.fill or not source.exists():
        if not args.fill:
            parser.error(f"{source} is missing: fill the database first with --fill")
        source.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(case.source, source)
    url = f"{args.server}/{args.database}"
    params = {
        "url": url, "source": str(source), "home": str(BENCH_HOME / "home"), "as_of": case.end.isoformat(),
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

    if args.refreshes < 1:
        return 0
    day = {**params, "first": case.end.isoformat(), "outstanding": False}
    refreshes = [pipeline.run_jobs(day)["seconds"] for _ in range(args.refreshes)]
    print(f"one-day refresh ({case.end}), day unchanged: {', '.join(f'{s:.2f}' for s in refreshes)} s; median {statistics.median(refreshes):.2f} s", flush=True)
    arrivals, current = [], []
    for _ in range(args.refreshes):
        taken = take_out_day(source, case.end)
        pipeline.run_jobs(day)  # the warehouse without the day's payments (not timed)
        put_back_day(source)
        # the day's refresh, then the current state as the sensor and the schedule request it after
        parts = pipeline.run_jobs({**day, "outstanding": True})["parts"]
        arrivals.append(parts["daily_facts_job"])
        current.append(parts["outstanding_job"])
    print(
        f"one-day refresh ({case.end}), the day's {taken:,} payments new: {', '.join(f'{s:.2f}' for s in arrivals)} s; "
        f"median {statistics.median(arrivals):.2f} s",
        flush=True,
    )
    print(
        f"outstanding_job after it (staged_invoices, outstanding_payments, dim_patient, dim_user): "
        f"{', '.join(f'{s:.2f}' for s in current)} s; median {statistics.median(current):.2f} s",
        flush=True,
    )
    # the one-day floor on the same warehouse, without the day as in the runs above
    rows = day_rows(url, case.end)
    take_out_day(source, case.end)
    pipeline.run_jobs(day)
    floors = [day_floor(url, case.end, rows) for _ in range(args.refreshes)]
    put_back_day(source)
    pipeline.run_jobs(day)  # the warehouse with the day again (not timed)
    totals = [sum(parts.values()) for parts in floors]
    middle = floors[totals.index(statistics.median_low(totals))]
    print(
        f"one-day floor (the day's {rows.count(chr(10)):,} final history rows COPYed in, its revenue upserted, its patients' "
        f"dim_patient rows updated; rolled back): {', '.join(f'{t:.2f}' for t in totals)} s; median {statistics.median(totals):.2f} s "
        f"({', '.join(f'{k} {v:.2f} s' for k, v in middle.items())}); the new-day refresh is "
        f"{statistics.median(arrivals) / statistics.median(totals):.2f}x that",
        flush=True,
    )
    if args.profile:
        profile = BENCH_HOME / f"profile_everyday_{args.database}.txt"
        take_out_day(source, case.end)
        pipeline.run_jobs(day)
        put_back_day(source)
        profiled = pipeline.run_jobs({**day, "profile": str(profile)})["seconds"]
        print(f"profile of one refresh with the day's payments new ({profiled:.2f} s under the profiler): {profile} (and .html, .pyisession)", flush=True)
        print("\n".join(profile.read_text().splitlines()[:14]), flush=True)
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
