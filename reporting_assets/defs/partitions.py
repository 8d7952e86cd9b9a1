"""The daily partitions of the reporting facts, how a backfill splits them into runs, and the run tags that select a range."""

import datetime as dt

import dagster as dg

from ..dates import DateWindow
from ..settings import Settings

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """Days in the clinic's time zone from REPORTING_START_DATE; end_offset=1: today's partition exists, tomorrow's not."""
    return dg.DailyPartitionsDefinition(start_date=settings.start_date.isoformat(), timezone=settings.timezone, end_offset=1)


def backfill_policy(settings: Settings) -> dg.BackfillPolicy:
    """One run per backfill, or runs of at most REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN days (fanned out over workers)."""
    if settings.backfill_max_partitions_per_run is None:
        return dg.BackfillPolicy.single_run()
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=settings.backfill_max_partitions_per_run)


def partition_range_tags(first: dt.date, last: dt.date) -> dict[str, str]:
    """Run tags for one run over the days first..last (inclusive): a single-run backfill."""
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


def partition_window(context: dg.AssetExecutionContext) -> DateWindow:
    """The run's partition range as dates [start, end), whatever its length (single-run backfills)."""
    window = context.partition_time_window
    return DateWindow(window.start.date(), window.end.date())


def run_window(run: dg.DagsterRun) -> DateWindow | None:
    """The days [start, end) a run's partition tags select (a range or one day); None for a run without them."""
    first, last = run.tags.get(RANGE_START_TAG), run.tags.get(RANGE_END_TAG)
    if not (first and last):
        first = last = run.tags.get("dagster/partition")
    if not first:
        return None
    return DateWindow(dt.date.fromisoformat(first), dt.date.fromisoformat(last) + dt.timedelta(days=1))
