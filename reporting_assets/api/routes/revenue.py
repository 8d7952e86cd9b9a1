"""Revenue per day, ISO week or calendar month (views revenue_weekly / revenue_monthly), zero periods included."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from ...dates import clinic_today
from ..deps import CurrentCaller, report_transaction
from ..errors import ParameterError
from ..exports import csv_response
from ..formats import average, day, money
from ..models import RevenuePeriod, RevenueReport, RevenueTotals
from ..params import DateParam, date_range, describe

router = APIRouter(tags=["revenue"])
Granularity = Literal["day", "week", "month"]
MAX_RANGE_DAYS = 3 * 365 + 1  # three years, one of them possibly a leap year
COLUMNS = ("period_start", "period_end", "total_revenue", "payment_count", "average_payment")

# per granularity: the relation holding one row per period, its step and each period's last day
_PERIODS = {
    "day": ("reporting.revenue_metrics", "date_key", "1 day", "p::date"),
    "week": ("reporting.revenue_weekly", "period_start", "1 week", "p::date + 6"),
    "month": ("reporting.revenue_monthly", "period_start", "1 month", "(p + interval '1 month - 1 day')::date"),
}


@dataclass(frozen=True)
class RevenueWindow:
    start: dt.date
    end: dt.date
    granularity: Granularity

    def describe(self) -> str:
        return describe(f"{self.start}..{self.end}", self.granularity)


def revenue_window(
    request: Request, start: DateParam = None, end: DateParam = None, granularity: Annotated[Granularity, Query()] = "day"
) -> RevenueWindow:
    """Defaults (the last 30 days to clinic today), checks, and widening to whole weeks or months."""
    first, last = date_range(start, end)
    last = last or clinic_today(request.app.state.settings.timezone)
    first = first or last - dt.timedelta(days=29)
    if first > last:
        raise ParameterError("start", "Parameter 'start' must not be after 'end'.")
    if granularity == "week":
        first = first - dt.timedelta(days=first.weekday())
        last = last + dt.timedelta(days=6 - last.weekday())
    elif granularity == "month":
        first = first.replace(day=1)
        following = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        last = following - dt.timedelta(days=1)
    if (last - first).days >= MAX_RANGE_DAYS:
        raise ParameterError("start", "Parameter 'start' must be at most 3 years before 'end'.")
    return RevenueWindow(first, last, granularity)


def revenue_query(granularity: Granularity) -> str:
    relation, key, step, period_end = _PERIODS[granularity]
    return (
        f"SELECT p::date, {period_end}, coalesce(r.total_revenue, 0), coalesce(r.payment_count, 0), coalesce(r.average_payment, 0) "
        f"FROM generate_series(%(start)s::date, %(end)s::date, interval '{step}') AS p "
        f"LEFT JOIN {relation} r ON r.{key} = p::date ORDER BY p"
    )


def _period(row: tuple) -> dict:
    return {
        "period_start": day(row[0]),
        "period_end": day(row[1]),
        "total_revenue": money(row[2]),
        "payment_count": int(row[3]),
        "average_payment": money(row[4]),
    }


Window = Annotated[RevenueWindow, Depends(revenue_window)]


@router.get("/revenue", response_model=RevenueReport, summary="Revenue per period with the range's totals")
def revenue(request: Request, caller: CurrentCaller, window: Window) -> RevenueReport:
    granularity = window.granularity
    with report_transaction(request, caller, "revenue", window.describe()) as cur:
        cur.execute(revenue_query(granularity), {"start": window.start, "end": window.end})
        periods = [_period(row) for row in cur.fetchall()]
    total = sum((Decimal(p["total_revenue"]) for p in periods), Decimal(0))
    count = sum(p["payment_count"] for p in periods)
    return RevenueReport(
        start=window.start.isoformat(),
        end=window.end.isoformat(),
        granularity=granularity,
        periods=[RevenuePeriod(**p) for p in periods],
        totals=RevenueTotals(total_revenue=money(total), payment_count=count, average_payment=average(total, count)),
    )


@router.get("/revenue.csv", response_class=StreamingResponse, summary="Revenue per period as CSV")
def revenue_csv(request: Request, caller: CurrentCaller, window: Window) -> StreamingResponse:
    return csv_response(
        request,
        caller,
        "revenue",
        resource_id=window.describe(),
        filename=f"revenue_{window.start}_{window.end}.csv",
        columns=COLUMNS,
        query=revenue_query(window.granularity),
        params={"start": window.start, "end": window.end},
        to_row=lambda row: list(_period(row).values()),
    )
