"""ETL runs (etl_process_status) and data health: freshness, latest run and quarantine counts per table."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from ..deps import CurrentCaller, report_transaction
from ..exports import csv_response
from ..formats import utc
from ..listings import Listing, export_filename
from ..models import DataHealth, EtlRunPage
from ..paging import as_int, as_timestamp
from ..params import Cursor, Filters, Limit, describe

router = APIRouter(tags=["etl"])
Status = Literal["running", "completed", "failed", "stopped"]
REPORT_TABLES = ("revenue_metrics", "patient_payment_history", "outstanding_payments")

RUN_COLUMNS = ("run_id", "process_name", "status", "started_at", "completed_at", "records_processed", "error_message")
RUNS_QUERY = """
SELECT coalesce(dagster_run_id, 'row-' || id), process_name, status, started_at, completed_at, records_processed, error_message, id
FROM reporting.etl_process_status
WHERE (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(after_started)s::timestamp IS NULL OR (started_at, id) < (%(after_started)s, %(after_id)s))
ORDER BY started_at DESC, id DESC
"""

# per reporting table: last write (materialize audit rows) and the newest run that wrote it or names it
HEALTH_QUERY = """
SELECT t.table_name, f.last_refreshed_at, r.run_id, r.status, r.started_at, r.completed_at
FROM unnest(%(tables)s::text[]) WITH ORDINALITY AS t(table_name, position)
LEFT JOIN reporting.table_freshness f ON f.table_name = t.table_name
LEFT JOIN LATERAL (
    SELECT coalesce(e.dagster_run_id, 'row-' || e.id) AS run_id, e.status, e.started_at, e.completed_at
    FROM reporting.etl_process_status e
    WHERE e.dagster_run_id = f.last_run_id OR strpos(e.process_name, t.table_name) > 0
    ORDER BY e.started_at DESC, e.id DESC LIMIT 1
) r ON TRUE
ORDER BY t.position
"""
QUARANTINE_QUERY = "SELECT source_table, reason, rows FROM reporting.quarantine_summary ORDER BY source_table, rows DESC, reason"
FAILED_QUERY = (
    "SELECT count(*) FROM reporting.etl_process_status "
    "WHERE status = 'failed' AND started_at >= (CURRENT_TIMESTAMP AT TIME ZONE 'UTC') - interval '7 days'"
)


def _run(row: tuple) -> dict:
    return {
        "run_id": row[0],
        "process_name": row[1],
        "status": row[2],
        "started_at": utc(row[3]),
        "completed_at": utc(row[4]),
        "records_processed": row[5],
        "error_message": row[6],
    }


RUNS = Listing(
    "etl_runs", RUNS_QUERY, RUN_COLUMNS, _run,
    cursor_params=("after_started", "after_id"), cursor_parts=(as_timestamp, as_int), sort_key=lambda row: (row[3], row[7]),
)


def run_filters(status: Status | None = None) -> Filters:
    return Filters({"status": status}, describe(status or "all"))


RunFilters = Annotated[Filters, Depends(run_filters)]


@router.get("/etl/runs", response_model=EtlRunPage, summary="Pipeline runs, newest first")
def etl_runs(request: Request, caller: CurrentCaller, filters: RunFilters, cursor: Cursor = None, limit: Limit = 100) -> EtlRunPage:
    return EtlRunPage(**RUNS.page(request, caller, filters, cursor, limit))


@router.get("/etl/runs.csv", response_class=StreamingResponse, summary="Pipeline runs as CSV")
def etl_runs_csv(request: Request, caller: CurrentCaller, filters: RunFilters) -> StreamingResponse:
    return RUNS.export(request, caller, filters)


def _table(row: tuple) -> dict:
    latest = {"run_id": row[2], "status": row[3], "started_at": utc(row[4]), "completed_at": utc(row[5])} if row[2] else None
    return {"table": row[0], "last_refreshed_at": utc(row[1]), "latest_run": latest}


@router.get("/data-health", response_model=DataHealth, summary="Freshness and latest run per reporting table, quarantine counts")
def data_health(request: Request, caller: CurrentCaller) -> DataHealth:
    with report_transaction(request, caller, "data_health", "tables+quarantine+failed_runs") as cur:
        cur.execute(HEALTH_QUERY, {"tables": list(REPORT_TABLES)})
        tables = [_table(row) for row in cur.fetchall()]
        cur.execute(QUARANTINE_QUERY)
        quarantine = [{"source_table": s, "reason": r, "rows": n} for s, r, n in cur.fetchall()]
        cur.execute(FAILED_QUERY)
        failed = cur.fetchone()[0]
    return DataHealth(tables=tables, quarantine=quarantine, failed_runs_last_7_days=failed)


@router.get("/data-health.csv", response_class=StreamingResponse, summary="Freshness and latest run per reporting table as CSV")
def data_health_csv(request: Request, caller: CurrentCaller) -> StreamingResponse:
    return csv_response(
        request,
        caller,
        "data_health",
        resource_id="tables",
        filename=export_filename(request, "data_health"),
        columns=("table", "last_refreshed_at", "latest_run_id", "latest_run_status", "latest_run_started_at", "latest_run_completed_at"),
        query=HEALTH_QUERY,
        params={"tables": list(REPORT_TABLES)},
        to_row=lambda row: [row[0], utc(row[1]), row[2], row[3], utc(row[4]), utc(row[5])],
    )
