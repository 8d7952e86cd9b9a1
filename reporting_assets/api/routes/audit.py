"""The audit log, newest first (auditor and admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from ..deps import CurrentCaller
from ..formats import utc
from ..listings import Listing
from ..models import AuditPage
from ..paging import as_int, as_timestamp
from ..params import Cursor, DateParam, Filters, Limit, date_range, describe

router = APIRouter(tags=["audit"])
UserId = Annotated[str | None, Query(min_length=1, max_length=50, pattern=r"^[\x20-\x7e]+$", description="Exact user_id, e.g. api:alice.")]
Action = Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[\x20-\x7e]+$", description="Exact action, e.g. view_report.")]

COLUMNS = ("id", "timestamp", "user_id", "action", "resource_type", "resource_id", "ip_address", "user_agent", "row_count")
QUERY = """
SELECT id, timestamp, user_id, action, resource_type, resource_id, host(ip_address), user_agent, row_count
FROM reporting.audit_log
WHERE (%(user_id)s::text IS NULL OR user_id = %(user_id)s)
  AND (%(action)s::text IS NULL OR action = %(action)s)
  AND (%(start)s::date IS NULL OR timestamp >= %(start)s::date)
  AND (%(end)s::date IS NULL OR timestamp < %(end)s::date + 1)
  AND (%(after_ts)s::timestamp IS NULL OR (timestamp, id) < (%(after_ts)s, %(after_id)s))
ORDER BY timestamp DESC, id DESC
"""


def _row(row: tuple) -> dict:
    values = list(row)
    values[1] = utc(values[1])
    return dict(zip(COLUMNS, values))


def audit_filters(user_id: UserId = None, action: Action = None, start: DateParam = None, end: DateParam = None) -> Filters:
    """The filters both twins take, declared once."""
    first, last = date_range(start, end)
    params = {"user_id": user_id, "action": action, "start": first, "end": last}
    return Filters(params, describe(f"{first or ''}..{last or ''}", action or "all", user_id or "all"))


AuditFilters = Annotated[Filters, Depends(audit_filters)]


AUDIT = Listing(
    "audit", QUERY, COLUMNS, _row,
    cursor_params=("after_ts", "after_id"), cursor_parts=(as_timestamp, as_int), sort_key=lambda row: (row[1], row[0]),
)


@router.get("/audit", response_model=AuditPage, summary="Audit rows, newest first")
def audit(request: Request, caller: CurrentCaller, filters: AuditFilters, cursor: Cursor = None, limit: Limit = 100) -> AuditPage:
    return AuditPage(**AUDIT.page(request, caller, filters, cursor, limit))


@router.get("/audit.csv", response_class=StreamingResponse, summary="Audit rows as CSV")
def audit_csv(request: Request, caller: CurrentCaller, filters: AuditFilters) -> StreamingResponse:
    return AUDIT.export(request, caller, filters)
