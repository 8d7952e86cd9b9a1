"""Query parameters shared by the reports, declared once so OpenAPI and the 422 messages agree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Query

from .errors import ParameterError
from .paging import MAX_CURSOR_LENGTH

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

Limit = Annotated[int, Query(ge=1, le=1000, description="Rows per page, 1 to 1000.")]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH, pattern=r"^[A-Za-z0-9_\-]+$", description="The next_cursor of the previous page.")]
DateParam = Annotated[str | None, Query(pattern=DATE_PATTERN, description="A date, YYYY-MM-DD.")]


def parse_date(name: str, value: str | None) -> dt.date | None:
    """A calendar date from YYYY-MM-DD (the pattern is checked by FastAPI; 2026-02-30 is caught here)."""
    if value is None:
        return None
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise ParameterError(name) from None
    if not dt.date(1900, 1, 1) <= parsed <= dt.date(2999, 12, 31):
        raise ParameterError(name, f"Parameter '{name}' must be a date between 1900-01-01 and 2999-12-31.")
    return parsed


def date_range(start: str | None, end: str | None) -> tuple[dt.date | None, dt.date | None]:
    first, last = parse_date("start", start), parse_date("end", end)
    if first and last and first > last:
        raise ParameterError("start", "Parameter 'start' must not be after 'end'.")
    return first, last


def describe(*parts: object) -> str:
    """audit_log.resource_id: a short description of the query (at most 50 characters)."""
    text = "/".join("" if part is None else str(part) for part in parts).rstrip("/")
    return text[:50] or "-"


@dataclass(frozen=True)
class Filters:
    """A report's checked filters: the query's parameters and the audit row's description of them."""

    params: dict
    resource_id: str
