"""The daily partitions of the reporting facts, in the clinic's time zone, from REPORTING_START_DATE."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from .settings import load_settings
from .resources import ReportingPolicyResource
from .dates import DateWindow

_settings = load_settings()

# end_offset=1: today's partition exists (payments so far today), tomorrow's does not.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=_settings.start_date.isoformat(), timezone=_settings.timezone, end_offset=1
)


def partition_window(context: dg.AssetExecutionContext) -> DateWindow:
    """The run's partition range as dates [start, end), whatever its length (single-run backfills)."""
    window = context.partition_time_window
    return DateWindow(window.start.date(), window.end.date())


def within_retention(window: DateWindow, policy: ReportingPolicyResource) -> DateWindow:
    """The part of ``window`` inside the retention period: older partitions write nothing."""
    start = max(window.start, policy.retention_cutoff())
    return DateWindow(start, max(start, window.end))


def day_keys(window: DateWindow) -> list[str]:
    return [day.isoformat() for day in window.days()]


def to_date(value: object) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value  # type: ignore[return-value]
