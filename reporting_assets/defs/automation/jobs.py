"""The platform's asset jobs: the daily facts for a range of days, and the current state, on the executor REPORTING_EXECUTOR names."""

from __future__ import annotations

import functools

import dagster as dg

from ...settings import ConfigError, Settings, current_settings

DAILY_FACTS_JOB = "daily_facts_job"
OUTSTANDING_JOB = "outstanding_job"

# The partitioned facts and their staging: a range of days is one run, or runs of
# REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN days (defs/partitions.py, backfill_policy).
# Each job rebuilds the dimensions its facts reference, after them: a dimension is never older
# than a fact that joins it (the referential checks run at the end of the same run).
daily_facts_selection = dg.AssetSelection.assets(
    "staged_payments", "patient_payment_history", "revenue_metrics", "dim_date", "dim_patient", "dim_user"
)
current_state_selection = dg.AssetSelection.assets("staged_invoices", "outstanding_payments", "dim_patient", "dim_user")


def build_executor(settings: Settings) -> dg.ExecutorDefinition:
    """The executor of both jobs: in-process (the default), one process per step, or Celery workers on a broker."""
    # in_process: each job's assets form one chain, so steps run one after another anyway and
    # one process saves a process start and a Dagster import per step
    if settings.executor == "multiprocess":
        return dg.multiprocess_executor
    if settings.executor == "celery":
        try:
            from dagster_celery import celery_executor
        except ImportError:
            raise ConfigError("REPORTING_EXECUTOR=celery needs dagster-celery; install it with `pip install -e '.[celery]'`.") from None
        # steps go to workers started with deploy/celery/worker.yaml listening on the queue (docs/deployment.md)
        return celery_executor.configured(
            {
                "broker": settings.celery_broker_url,
                "backend": settings.celery_backend_url,
                "config_source": {"task_default_queue": settings.celery_queue},
            },
            name="celery",
        )
    return dg.in_process_executor


@functools.cache  # the sensor targets the very job objects the definitions hold
def build_jobs(settings: Settings) -> tuple[dg.UnresolvedAssetJobDefinition, ...]:
    """daily_facts_job and outstanding_job on the executor the settings choose."""
    executor = build_executor(settings)
    return (
        dg.define_asset_job(
            DAILY_FACTS_JOB,
            executor_def=executor,
            selection=daily_facts_selection,
            description="Stage payments, rebuild patient_payment_history and revenue_metrics for a range of days, then dim_date, dim_patient and dim_user.",
            tags={"reporting/refresh": "daily_facts"},
        ),
        dg.define_asset_job(
            OUTSTANDING_JOB,
            executor_def=executor,
            selection=current_state_selection,
            description="Stage invoices, rebuild outstanding_payments as of today, then dim_patient and dim_user.",
            tags={"reporting/refresh": "outstanding"},
        ),
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = current_settings()
    # backfills from the UI, `reporting-admin backfill` and `dagster asset materialize` run the implicit
    # asset job: the same executor as the jobs (by default one process per run, not Dagster's own
    # default of a process and a Dagster import per step)
    return dg.Definitions(jobs=list(build_jobs(settings)), executor=build_executor(settings))
