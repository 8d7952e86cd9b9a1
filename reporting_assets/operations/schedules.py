"""Schedules: the daily refresh (recent days with a look-back, and the current state) and monthly retention."""

import datetime as dt

import dagster as dg

from ..settings import load_settings
from ..jobs import daily_facts_job, outstanding_job
from .retention import retention_job

_settings = load_settings()
_hour, _minute = (int(part) for part in _settings.schedule_time.split(":"))


def lookback_range(scheduled: dt.datetime, lookback_days: int, start_date: dt.date) -> tuple[dt.date, dt.date]:
    """The last ``lookback_days`` days up to the scheduled day (clinic time), not before the first partition."""
    last = scheduled.date()
    first = max(start_date, last - dt.timedelta(days=lookback_days - 1))
    return first, last


@dg.schedule(
    name="daily_facts_schedule",
    job=daily_facts_job,
    cron_schedule=f"{_minute} {_hour} * * *",
    execution_timezone=_settings.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day: re-materialize the last REPORTING_LOOKBACK_DAYS days (late-arriving payments) in one run.",
)
def daily_facts_schedule(context: dg.ScheduleEvaluationContext):
    first, last = lookback_range(context.scheduled_execution_time, _settings.lookback_days, _settings.start_date)
    return dg.RunRequest(
        run_key=f"daily:{last.isoformat()}",
        tags={"dagster/asset_partition_range_start": first.isoformat(), "dagster/asset_partition_range_end": last.isoformat()},
    )


outstanding_schedule = dg.ScheduleDefinition(
    name="outstanding_schedule",
    job=outstanding_job,
    cron_schedule=f"{_minute} {_hour} * * *",
    execution_timezone=_settings.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day: rebuild outstanding_payments as of the clinic's today.",
)

retention_schedule = dg.ScheduleDefinition(
    name="retention_schedule",
    job=retention_job,
    cron_schedule=f"{_minute} {(_hour + 1) % 24} 1 * *",
    execution_timezone=_settings.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="On the 1st of every month: delete rows past their retention periods, logged in audit_log.",
)
