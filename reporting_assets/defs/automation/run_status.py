"""etl_process_status from Dagster's run records: one row per run, whatever launched it.

A sensor reads the instance's run records updated since its cursor (runs launched from
the UI, the CLI, schedules, sensors or backfills, in any code location) and upserts one
row per run: ``running`` once started, then ``completed``, ``failed`` or ``stopped``.
Upserts are keyed on the run id and never move a finished row back, so re-evaluating a
tick writes nothing twice.
"""

import datetime as dt

import dagster as dg
import pandas as pd
from dagster import DagsterEventType, DagsterRunStatus

from ... import schemas
from ..partitions import RANGE_END_TAG, RANGE_START_TAG
from ..resources import WarehouseResource

STATUS = {
    DagsterRunStatus.STARTED: "running",
    DagsterRunStatus.CANCELING: "running",
    DagsterRunStatus.SUCCESS: "completed",
    DagsterRunStatus.FAILURE: "failed",
    DagsterRunStatus.CANCELED: "stopped",
}
MAX_ERROR_CHARS = 2000
IMPLICIT_JOB_PREFIXES = ("__ASSET_JOB", "__ephemeral_asset_job__", "__anonymous_asset_job")


def process_name(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """``<job>`` or, for Dagster's implicit asset job, ``assets:<key>,<key>``; then `` [partition]`` or `` [first...last]``."""
    name = run.job_name
    if name.startswith(IMPLICIT_JOB_PREFIXES):
        keys = sorted(key.to_user_string() for key in run.asset_selection or ())
        if not keys and run.execution_plan_snapshot_id:  # e.g. materialize() in a script: the plan's steps are the assets
            plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
            keys = sorted(step.key for step in plan.steps)
        if keys:
            name = "assets:" + ",".join(keys)
    tags = run.tags
    if tags.get("dagster/partition"):
        name += f" [{tags['dagster/partition']}]"
    elif tags.get(RANGE_START_TAG):
        name += f" [{tags[RANGE_START_TAG]}...{tags.get(RANGE_END_TAG, '')}]"
    return name if len(name) <= 100 else name[:97] + "..."


def rows_written(instance: dg.DagsterInstance, run_id: str) -> int:
    """Sum of dagster/row_count over the assets the run materialized.

    A single-run backfill emits one materialization per partition, each carrying the
    run's row count for that asset, so each asset counts once.
    """
    per_asset: dict[dg.AssetKey, int] = {}
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        value = materialization.metadata.get("dagster/row_count") if materialization else None
        if value is not None:
            per_asset[materialization.asset_key] = int(value.value)
    return sum(per_asset.values())


def error_message(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The first step failure's message (our errors name rules and row numbers, never values), else the run's."""
    for event_type in (DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE):
        for record in instance.get_records_for_run(run_id, of_type=event_type).records:
            event = record.event_log_entry.dagster_event
            if event is None:
                continue
            data = event.event_specific_data
            error = getattr(data, "error", None)
            while error is not None and error.cause is not None:  # the user's error, not Dagster's wrapper
                error = error.cause
            message = error.message if error is not None else event.message
            if message:
                return message.strip()[:MAX_ERROR_CHARS]
    return None


def status_row(instance: dg.DagsterInstance, record: dg.RunRecord) -> dict | None:
    status = STATUS.get(record.dagster_run.status)
    if status is None:  # queued or not started yet: no row until it starts
        return None
    run = record.dagster_run
    started = record.start_time or record.create_timestamp.timestamp()
    finished = status != "running"
    completed = (record.end_time or record.update_timestamp.timestamp()) if finished else None
    return {
        "dagster_run_id": run.run_id,
        "process_name": process_name(instance, run),
        "status": status,
        "started_at": dt.datetime.fromtimestamp(started, dt.timezone.utc).replace(tzinfo=None),
        "completed_at": dt.datetime.fromtimestamp(max(completed, started), dt.timezone.utc).replace(tzinfo=None) if finished else None,
        "records_processed": rows_written(instance, run.run_id) if finished else 0,
        "error_message": error_message(instance, run.run_id) if status == "failed" else None,
    }


UPSERT = """
INSERT INTO reporting.etl_process_status
    (dagster_run_id, process_name, status, started_at, completed_at, records_processed, error_message)
VALUES (%(dagster_run_id)s, %(process_name)s, %(status)s, %(started_at)s, %(completed_at)s, %(records_processed)s, %(error_message)s)
ON CONFLICT (dagster_run_id) DO UPDATE SET
    status = EXCLUDED.status, completed_at = EXCLUDED.completed_at,
    records_processed = EXCLUDED.records_processed, error_message = EXCLUDED.error_message
WHERE reporting.etl_process_status.status = 'running' AND EXCLUDED.status <> 'running'
"""


def record_runs(instance: dg.DagsterInstance, warehouse: WarehouseResource, updated_after: float | None, limit: int = 200) -> tuple[int, float | None]:
    """Upsert rows for runs updated after the timestamp; return (rows that changed, newest update timestamp seen)."""
    filters = dg.RunsFilter(updated_after=dt.datetime.fromtimestamp(updated_after, dt.timezone.utc)) if updated_after else None
    records = instance.get_run_records(filters=filters, limit=limit, order_by="update_timestamp", ascending=True)
    rows = [row for row in (status_row(instance, record) for record in records) if row is not None]
    changed = 0
    if rows:
        frame = pd.DataFrame(rows).drop(columns=["dagster_run_id"]).astype({"records_processed": "int64", "error_message": object})
        frame["started_at"] = pd.to_datetime(frame["started_at"])
        frame["completed_at"] = pd.to_datetime(frame["completed_at"])
        schemas.check_output(schemas.EtlProcessStatus, frame)
        with warehouse.transaction() as conn, conn.cursor() as cur:
            for row in rows:
                cur.execute(UPSERT, row)
                changed += cur.rowcount  # 0 when the row is already final: re-read runs count once
    newest = max((r.update_timestamp.timestamp() for r in records), default=updated_after)
    return changed, newest


@dg.sensor(
    name="etl_process_status_sensor",
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Writes one reporting.etl_process_status row per Dagster run (running, then completed, failed or stopped).",
)
def etl_process_status_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    cursor = float(context.cursor) if context.cursor else None
    # re-read the last second: runs updated in the same instant as the cursor are not missed (upserts are idempotent)
    written, newest = record_runs(context.instance, warehouse, cursor - 1 if cursor else None)
    if newest is not None:
        context.update_cursor(repr(newest))
    if not written:
        return dg.SkipReason("No run started or finished since the last tick.")
    return dg.SkipReason(f"Recorded the status of {written} runs in reporting.etl_process_status.")


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[etl_process_status_sensor])
