"""Patient payment history (per pseudonymous patient), newest first."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from ..deps import CurrentCaller
from ..formats import day, money
from ..listings import Listing
from ..models import PaymentPage
from ..paging import as_date, as_int
from ..params import Cursor, DateParam, Filters, Limit, date_range, describe

router = APIRouter(tags=["payments"])
Status = Literal["paid", "pending", "failed", "refunded"]
PatientId = Annotated[str | None, Query(pattern=r"^pt_[0-9a-f]{32}$", description="The patient's pseudonym (pt_ + 32 hex digits).")]

COLUMNS = ("patient_id", "payment_date", "amount", "payment_status", "invoice_id")
QUERY = """
SELECT patient_id, payment_date, amount, payment_status, invoice_id, id
FROM reporting.patient_payment_history
WHERE (%(patient_id)s::text IS NULL OR patient_id = %(patient_id)s)
  AND (%(start)s::date IS NULL OR payment_date >= %(start)s)
  AND (%(end)s::date IS NULL OR payment_date <= %(end)s)
  AND (%(status)s::text IS NULL OR payment_status = %(status)s)
  AND (%(after_date)s::date IS NULL OR (payment_date, id) < (%(after_date)s, %(after_id)s))
ORDER BY payment_date DESC, id DESC
"""


def _payment(row: tuple) -> dict:
    return {"patient_id": row[0], "payment_date": day(row[1]), "amount": money(row[2]), "payment_status": row[3], "invoice_id": row[4]}


def payment_filters(patient_id: PatientId = None, start: DateParam = None, end: DateParam = None, status: Status | None = None) -> Filters:
    """The filters both twins take, declared once (FastAPI reads them from the query string)."""
    first, last = date_range(start, end)
    params = {"patient_id": patient_id, "start": first, "end": last, "status": status}
    # the pseudonym's first 12 characters are enough to find the rows again in the audit log
    who = patient_id[:12] if patient_id else "all"
    return Filters(params, describe(who, f"{first or ''}..{last or ''}", status or "all"))


PaymentFilters = Annotated[Filters, Depends(payment_filters)]


PAYMENTS = Listing(
    "payments", QUERY, COLUMNS, _payment,
    cursor_params=("after_date", "after_id"), cursor_parts=(as_date, as_int), sort_key=lambda row: (row[1], row[5]),
)


@router.get("/payments", response_model=PaymentPage, summary="Payment history, newest first")
def payments(request: Request, caller: CurrentCaller, filters: PaymentFilters, cursor: Cursor = None, limit: Limit = 100) -> PaymentPage:
    return PaymentPage(**PAYMENTS.page(request, caller, filters, cursor, limit))


@router.get("/payments.csv", response_class=StreamingResponse, summary="Payment history as CSV")
def payments_csv(request: Request, caller: CurrentCaller, filters: PaymentFilters) -> StreamingResponse:
    return PAYMENTS.export(request, caller, filters)
