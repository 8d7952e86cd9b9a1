"""List reports (outstanding, payments, ETL runs, audit): a keyset page as JSON, or every row as CSV."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import StreamingResponse

from ..dates import clinic_today
from .deps import Caller, report_transaction
from .exports import csv_response
from .paging import decode_cursor, page
from .params import Filters


def export_filename(request: Request, report: str) -> str:
    return f"{report}_{clinic_today(request.app.state.settings.timezone)}.csv"


@dataclass(frozen=True)
class Listing:
    """One list report: its query, item shape and the sort key its cursors carry."""

    report: str
    query: str  # filters as %(name)s parameters; the cursor's parameters are NULL on the first page
    columns: tuple[str, ...]
    to_item: Callable[[tuple], dict]
    cursor_params: tuple[str, ...]  # query parameters a cursor fills, in sort-key order
    cursor_parts: tuple[Callable, ...]  # a checker per sort-key part (see paging)
    sort_key: Callable[[tuple], tuple]  # a row's sort key, for the next cursor

    def _params(self, filters: Filters) -> dict:
        return {**dict.fromkeys(self.cursor_params), **filters.params}

    def page(self, request: Request, caller: Caller, filters: Filters, cursor: str | None, limit: int) -> dict:
        params = self._params(filters)
        after = decode_cursor(self.report, cursor, self.cursor_parts)
        if after:
            params.update(zip(self.cursor_params, after))
        with report_transaction(request, caller, self.report, filters.resource_id) as cur:
            cur.execute(self.query + " LIMIT %(limit)s", {**params, "limit": limit + 1})
            rows, next_cursor = page(self.report, cur.fetchall(), limit, self.sort_key)
        return {"items": [self.to_item(row) for row in rows], "next_cursor": next_cursor}

    def export(self, request: Request, caller: Caller, filters: Filters) -> StreamingResponse:
        return csv_response(
            request,
            caller,
            self.report,
            resource_id=filters.resource_id,
            filename=export_filename(request, self.report),
            columns=self.columns,
            query=self.query,
            params=self._params(filters),
            to_row=lambda row: list(self.to_item(row).values()),
        )
