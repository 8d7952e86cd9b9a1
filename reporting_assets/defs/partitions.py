"""The daily partitions of the reporting facts, and the run tags that select a range of them."""

import datetime as dt

import dagster as dg

from ..dates import DateWindow
from ..settings import Settings

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """Days in the clinic's time zone from REPORTING_START_DATE; end_offset=1: today's partition exists, tomorrow's not."""
    return dg.DailyPartitionsDefinition(start_date=settings.start_date.isoformat(), timezone=settings.timezone, end_offset=1)


def partition_range_tags(first: dt.date, last: dt.date) -> dict[str, str]:
    """Run tags for one run over the days first..last (inclusive): a single-run backfill."""
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


def partition_window(context: dg.AssetExecutionContext) -> DateWindow:
    """The run's partition range as dates [start, end), whatever its length (single-run backfills)."""
    window = context.partition_time_window
    return DateWindow(window.start.date(), window.end.date())
