"""`reporting-admin backfill`: the daily facts over a range of days as one asset backfill, as the UI's "Materialize" launches it.

The daemon splits it into runs by the assets' backfill policy (REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN)
and launches them; with REPORTING_EXECUTOR=celery their steps go to the Celery workers.
"""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg
from dagster._core.execution.backfill import PartitionBackfill
from dagster._core.utils import make_new_backfill_id

from ..definitions import build_definitions
from ..defs.automation.jobs import daily_facts_selection
from ..settings import ConfigError, Settings


def backfill_days(settings: Settings, first: dt.date, last: dt.date) -> list[str]:
    """The partition keys of first..last (inclusive), or a one-sentence ConfigError."""
    if last < first:
        raise ConfigError(f"The backfill ends ({last}) before it starts ({first}); give the first day, then the last.")
    if first < settings.start_date:
        raise ConfigError(f"The backfill starts ({first}) before REPORTING_START_DATE ({settings.start_date}); start on or after it.")
    return [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def request_backfill(settings: Settings, instance: dg.DagsterInstance, days: list[str]) -> str:
    """Add a backfill of the daily assets over ``days`` (backfill_days) to the instance; return its id."""
    asset_graph = build_definitions(settings).resolve_asset_graph()
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=asset_graph,
        partition_names=days,
        asset_selection=sorted(daily_facts_selection.resolve(asset_graph)),
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=f"daily facts {days[0]}...{days[-1]}",
        description="reporting-admin backfill",
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id
