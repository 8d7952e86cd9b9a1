"""Schedules: the daily refresh (recent days with a look-back, and the current state) and monthly retention."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from ...settings import Settings, current_settings
from ..partitions import partition_range_tags
from .jobs import DAILY_FACTS_JOB, OUTSTANDING_JOB
from .retention import retention_job


def lookback_range(scheduled: dt.datetime, lookback_days: int, start_date: dt.date) -> tuple[dt.date, dt.date]:
    """The last ``lookback_days`` days up to the scheduled day (clinic time), not before the first partition."""
    last = scheduled.date()
    first = max(start_date, last - dt.timedelta(days=lookback_days - 1))
    return first, last


def build_schedules(settings: Settings) -> list[dg.ScheduleDefinition]:
    """The daily and monthly schedules, at REPORTING_SCHEDULE_TIME in the clinic's time zone."""
    hour, minute = settings.schedule_hour_minute

    @dg.schedule(
        name="daily_facts_schedule",
        job_name=DAILY_FACTS_JOB,
        cron_schedule=f"{minute} {hour} * * *",
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every day: re-materialize the last REPORTING_LOOKBACK_DAYS days (late-arriving payments) in one run.",
    )
    def daily_facts_schedule(context: dg.ScheduleEvaluationContext):
        # the clinic's day of the tick, whatever zone the time arrives in (the daemon's is the execution zone)
        scheduled = context.scheduled_execution_time.astimezone(ZoneInfo(settings.timezone))
        first, last = lookback_range(scheduled, settings.lookback_days, settings.start_date)
        return dg.RunRequest(run_key=f"daily:{last.isoformat()}", tags=partition_range_tags(first, last))

    outstanding_schedule = dg.ScheduleDefinition(
        name="outstanding_schedule",
        job_name=OUTSTANDING_JOB,
        cron_schedule=f"{minute} {hour} * * *",
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every day: rebuild outstanding_payments as of the clinic's today.",
    )
    retention_schedule = dg.ScheduleDefinition(
        name="retention_schedule",
        job=retention_job,
        cron_schedule=f"{minute} {(hour + 1) % 24} 1 * *",
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="On the 1st of every month: delete rows past their retention periods, logged in audit_log.",
    )
    return [daily_facts_schedule, outstanding_schedule, retention_schedule]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(schedules=build_schedules(current_settings()))
