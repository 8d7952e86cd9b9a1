"""One command from nothing to filled reporting tables: the first thing a newcomer runs."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from ..settings import Settings
from ..source.reader import open_source
from ..source.sample_data import ensure_sample_database
from ..warehouse.database import redact, resolve_database_url
from ..warehouse.migrations import apply_migrations
from .instance import prepare_dagster_home
from .summary import print_summary

QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def source_date_range(path: Path, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """First and last well-formed payment dates of the source, the last not after today."""
    with open_source(path) as conn:
        first, last = conn.execute(
            "SELECT min(substr(payment_date, 1, 10)), max(substr(payment_date, 1, 10)) FROM payments "
            "WHERE date(substr(payment_date, 1, 10), '+0 days') = substr(payment_date, 1, 10) AND substr(payment_date, 1, 10) <= ?",
            (today.isoformat(),),
        ).fetchone()
    if first is None:
        return None
    return dt.date.fromisoformat(first), dt.date.fromisoformat(last)


def run_quickstart(settings: Settings, days: int | None = None) -> None:
    if settings.source_db is None:
        generated = ensure_sample_database(settings.sample_source_db)
        if generated:
            print(f"Generated a sample billing database (fake patients): {generated.path} ({generated.payments:,} payments)")
    url = resolve_database_url(settings.database_url, settings.home)
    applied = apply_migrations(url)
    print(f"Reporting database ready: {redact(url).replace('postgresql+psycopg2://', 'postgresql://')}" + (f" (applied {', '.join(applied)})" if applied else ""))

    os.environ.update(prepare_dagster_home(settings))
    import dagster as dg

    from ..definitions import build_definitions
    from ..defs.automation.run_status import record_runs
    from ..defs.partitions import partition_range_tags
    from ..defs.resources import build_resources

    definitions = build_definitions(settings)
    policy = build_resources(settings)["policy"]
    today = policy.today()
    span = source_date_range(settings.effective_source_db, today)
    earliest = max(settings.start_date, policy.report_cutoff())
    if days is not None:
        earliest = max(earliest, today - dt.timedelta(days=days - 1))
    instance = dg.DagsterInstance.get()
    if span is not None:
        first, last = max(span[0], earliest), max(span[1], earliest)
        print(f"Materializing staged_payments, patient_payment_history and revenue_metrics for {first}...{last} (one run)")
        result = definitions.resolve_job_def("daily_facts_job").execute_in_process(
            instance=instance, run_config=QUIET, tags=partition_range_tags(first, last)
        )
        if not result.success:
            raise SystemExit("The daily facts run failed; see the messages above.")
    print("Materializing staged_invoices and outstanding_payments as of", today)
    result = definitions.resolve_job_def("outstanding_job").execute_in_process(instance=instance, run_config=QUIET)
    if not result.success:
        raise SystemExit("The outstanding payments run failed; see the messages above.")
    # the daemon's etl_process_status_sensor does this continuously; record these runs now for the summary
    record_runs(instance, build_resources(settings)["warehouse"], None)
    print_summary(settings)
    print(
        "\nNext: `.venv/bin/reporting-admin dev` opens the Dagster UI on http://127.0.0.1:3000 with these runs "
        "(lineage, checks, schedules and sensors);\n`psql \"$(.venv/bin/reporting-admin db-url)\"` queries the tables "
        "(schema `reporting`); README \"From a shell\" shows Dagster's own CLI on the same instance."
    )
