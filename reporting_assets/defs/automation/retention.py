"""The monthly retention job: removes rows past their retention periods (warehouse.retention), each table audited."""

import dagster as dg

from ...warehouse.retention import apply_retention
from ..resources import ReportingPolicyResource, WarehouseResource
from ..run_user import launched_by


@dg.op(description="Delete report, staging, quarantine, run-status and audit rows older than their retention periods.")
def retention_cleanup(context: dg.OpExecutionContext, warehouse: WarehouseResource, policy: ReportingPolicyResource) -> dict:
    removed = apply_retention(warehouse.url(), policy.retention_cutoffs(), launched_by(dict(context.run.tags)), context.run.run_id)
    for table, count in removed.items():
        context.log.info(f"retention removed {count} rows from {table}")
    return removed


@dg.job(description="Monthly retention of reporting data (docs/operations.md, Retention).", tags={"reporting/refresh": "retention"})
def retention_job():
    retention_cleanup()


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[retention_job])
