"""Runs of a fanned-out backfill writing at once: disjoint ranges side by side, and a retried range overlapping another.

Whatever the interleaving, the tables equal one in-process run over the whole range: no duplicate
row, no day half old and half new (the writer's per-day advisory locks and one transaction per run).
"""

import datetime as dt
import threading
import time

from reporting_assets_tests.conftest import daily_facts_contents, make_resources, materialize_days, recent_sample_source

DAYS = 45


def run_at_once(resources: dict, ranges: list[tuple[dt.date, dt.date]]) -> list[tuple[float, float]]:
    """One single-run backfill per range, all started together; returns each run's (start, end) time."""
    spans: list[tuple[float, float]] = [(0.0, 0.0)] * len(ranges)
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(ranges))

    def run(index: int, first: dt.date, last: dt.date) -> None:
        barrier.wait()
        began = time.monotonic()
        try:
            materialize_days(resources, first.isoformat(), last.isoformat())
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        spans[index] = (began, time.monotonic())

    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(ranges)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return spans


def overlapping(spans: list[tuple[float, float]]) -> bool:
    return max(start for start, _ in spans) < min(end for _, end in spans)


def test_overlapping_and_disjoint_runs_at_once_equal_one_single_run(database_url, reference_database, tmp_path):
    source, last = recent_sample_source(tmp_path, DAYS)
    first = last - dt.timedelta(days=DAYS - 1)
    today = last + dt.timedelta(days=1)
    day = lambda n: first + dt.timedelta(days=n)  # noqa: E731
    resources = make_resources(database_url, source, tmp_path / "home", today=today, start_date=first.isoformat())

    # three workers on disjoint ranges, then two on overlapping ones (a retried task and the next range)
    assert overlapping(run_at_once(resources, [(day(0), day(14)), (day(15), day(29)), (day(30), day(44))]))
    assert overlapping(run_at_once(resources, [(day(0), day(29)), (day(10), day(44))]))

    reference = make_resources(reference_database, source, tmp_path / "reference", today=today, start_date=first.isoformat())
    materialize_days(reference, first.isoformat(), last.isoformat())
    fanned_out, single = daily_facts_contents(database_url), daily_facts_contents(reference_database)
    assert len(single["reporting.revenue_metrics"]) == DAYS and len(single["reporting.patient_payment_history"]) > 1000
    assert fanned_out == single
