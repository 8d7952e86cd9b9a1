"""Overdue invoices: the A/R aging summary (view ar_aging) and the per-invoice list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from ..deps import CurrentCaller, report_transaction
from ..exports import csv_response
from ..formats import day, money
from ..listings import Listing, export_filename
from ..models import AgingReport, OutstandingPage
from ..paging import as_int, as_text
from ..params import Cursor, Filters, Limit, describe

router = APIRouter(tags=["outstanding"])
Status = Literal["overdue", "collection", "written_off"]
MinDays = Annotated[int, Query(ge=0, le=100_000, description="Only invoices at least this many days overdue.")]

BUCKETS_QUERY = """
SELECT b.bucket, coalesce(sum(a.invoice_count), 0), coalesce(sum(a.amount_due), 0)
FROM (VALUES ('0-30', 1), ('31-60', 2), ('61-90', 3), ('91-120', 4), ('120+', 5)) AS b(bucket, bucket_order)
LEFT JOIN reporting.ar_aging a ON a.bucket = b.bucket
GROUP BY b.bucket, b.bucket_order ORDER BY b.bucket_order
"""
STATUS_QUERY = """
SELECT s.payment_status, coalesce(sum(a.invoice_count), 0), coalesce(sum(a.amount_due), 0)
FROM (VALUES ('overdue', 1), ('collection', 2), ('written_off', 3)) AS s(payment_status, status_order)
LEFT JOIN reporting.ar_aging a ON a.payment_status = s.payment_status
GROUP BY s.payment_status, s.status_order ORDER BY s.status_order
"""
AS_OF_QUERY = "SELECT last_refreshed_at FROM reporting.table_freshness WHERE table_name = 'outstanding_payments'"

INVOICE_COLUMNS = ("invoice_id", "patient_id", "amount_due", "days_overdue", "last_payment_date", "payment_status")
INVOICES_QUERY = """
SELECT invoice_id, patient_id, amount_due, days_overdue, last_payment_date, payment_status
FROM reporting.outstanding_payments
WHERE (%(status)s::text IS NULL OR payment_status = %(status)s)
  AND days_overdue >= %(min_days)s
  AND (%(after_days)s::integer IS NULL OR days_overdue < %(after_days)s
       OR (days_overdue = %(after_days)s AND invoice_id > %(after_invoice)s))
ORDER BY days_overdue DESC, invoice_id ASC
"""


def _as_of(value: dt.datetime | None, timezone: str) -> str | None:
    """The clinic date of the latest outstanding_payments refresh (stored in UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(timezone)).date().isoformat()


@router.get("/outstanding/aging", response_model=AgingReport, summary="A/R aging: invoices and amount due per bucket and status")
def aging(request: Request, caller: CurrentCaller) -> AgingReport:
    with report_transaction(request, caller, "aging", "buckets+statuses") as cur:
        cur.execute(BUCKETS_QUERY)
        buckets = cur.fetchall()
        cur.execute(STATUS_QUERY)
        statuses = cur.fetchall()
        cur.execute(AS_OF_QUERY)
        refreshed = cur.fetchone()
    return AgingReport(
        as_of=_as_of(refreshed[0] if refreshed else None, request.app.state.settings.timezone),
        buckets=[{"bucket": b, "invoice_count": int(n), "amount_due": money(a)} for b, n, a in buckets],
        by_status=[{"payment_status": s, "invoice_count": int(n), "amount_due": money(a)} for s, n, a in statuses],
        totals={"invoice_count": sum(int(n) for _, n, _ in buckets), "amount_due": money(sum((Decimal(a) for _, _, a in buckets), Decimal(0)))},
    )


@router.get("/outstanding/aging.csv", response_class=StreamingResponse, summary="A/R aging buckets as CSV")
def aging_csv(request: Request, caller: CurrentCaller) -> StreamingResponse:
    return csv_response(
        request,
        caller,
        "aging",
        resource_id="buckets",
        filename=export_filename(request, "aging"),
        columns=("bucket", "invoice_count", "amount_due"),
        query=BUCKETS_QUERY,
        params={},
        to_row=lambda row: [row[0], int(row[1]), money(row[2])],
    )


def _invoice(row: tuple) -> dict:
    return {
        "invoice_id": row[0],
        "patient_id": row[1],
        "amount_due": money(row[2]),
        "days_overdue": row[3],
        "last_payment_date": day(row[4]),
        "payment_status": row[5],
    }


def invoice_filters(status: Status | None = None, min_days_overdue: MinDays = 0) -> Filters:
    """The filters both twins take, declared once."""
    params = {"status": status, "min_days": min_days_overdue}
    return Filters(params, describe(status or "all", f">={min_days_overdue}d"))


InvoiceFilters = Annotated[Filters, Depends(invoice_filters)]


INVOICES = Listing(
    "outstanding", INVOICES_QUERY, INVOICE_COLUMNS, _invoice,
    cursor_params=("after_days", "after_invoice"), cursor_parts=(as_int, as_text), sort_key=lambda row: (row[3], row[0]),
)


@router.get("/outstanding", response_model=OutstandingPage, summary="Overdue invoices, most overdue first")
def outstanding(request: Request, caller: CurrentCaller, filters: InvoiceFilters, cursor: Cursor = None, limit: Limit = 100) -> OutstandingPage:
    return OutstandingPage(**INVOICES.page(request, caller, filters, cursor, limit))


@router.get("/outstanding.csv", response_class=StreamingResponse, summary="Overdue invoices as CSV")
def outstanding_csv(request: Request, caller: CurrentCaller, filters: InvoiceFilters) -> StreamingResponse:
    return INVOICES.export(request, caller, filters)
