"""How values leave the API: money as two-place decimal strings, dates ISO, timestamps UTC with Z."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money(value: Decimal | int | None) -> str:
    return str(Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP))


def average(total: Decimal, count: int) -> str:
    """total / count half-up to the cent; 0.00 when there is nothing to average."""
    return money(Decimal(total) / count) if count else "0.00"


def day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def utc(value: dt.datetime | None) -> str | None:
    """A stored UTC timestamp (naive) as ISO 8601 with Z."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
