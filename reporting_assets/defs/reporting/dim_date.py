"""dim_date: one row per calendar day of the reporting range, with its ISO week, month and fiscal year."""

import datetime as dt

import dagster as dg
import pandas as pd

from ... import schemas
from ...dates import DateWindow, calendar_day
from ...settings import current_settings
from ...warehouse.writer import TableSpec, replace_window
from ..resources import ReportingPolicyResource, WarehouseResource
from ..rule_checks import fail_on_broken_rules, schema_check_result
from .materialization import audit_materialization, reporting_table_asset, preview

TABLE = TableSpec("reporting", "dim_date", tuple(schemas.DimDate.to_schema().columns))


def one_year_after(day: dt.date) -> dt.date:
    """The same day a year later (29 February: 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def calendar(window: DateWindow, fiscal_start_month: int) -> pd.DataFrame:
    """dim_date's rows for the days of ``window`` (never empty: the range runs a year ahead)."""
    frame = pd.DataFrame([calendar_day(day, fiscal_start_month) for day in window.days()], columns=list(TABLE.columns))
    for column in ("date_key", "week_start", "week_end", "month_start", "month_end"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def build_dim_date(start_date: dt.date) -> dg.AssetsDefinition:
    @reporting_table_asset(TABLE, schemas.DimDate)
    def dim_date(context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: ReportingPolicyResource):
        """Calendar for BI joins: ISO weeks, months and fiscal periods of every reporting day, through a year ahead."""
        today = policy.today()
        first = max(start_date, policy.report_cutoff())
        tally = schemas.RuleTally(schemas.DimDate)
        with warehouse.transaction() as conn:
            with conn.cursor() as cur:
                # fact days before the cutoff stay until the monthly retention run: keep them joinable
                cur.execute(
                    "SELECT least((SELECT min(date_key) FROM reporting.revenue_metrics), "
                    "(SELECT min(payment_date) FROM reporting.patient_payment_history))"
                )
                oldest_fact_day = cur.fetchone()[0]
            window = DateWindow(min(first, oldest_fact_day or first), one_year_after(today) + dt.timedelta(days=1))
            frame = calendar(window, policy.fiscal_year_start_month)
            tally.add(frame)
            yield from fail_on_broken_rules(tally, "dim_date")
            written = replace_window(conn, TABLE, [frame], None, run_id=context.run.run_id)
            audit_materialization(context, conn, written, None)
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": written,
                "date_range": str(window),
                "fiscal_year_start_month": policy.fiscal_year_start_month,
                "preview": preview(frame),
            },
            check_results=[schema_check_result(tally, "dim_date")],
        )

    return dim_date


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build_dim_date(current_settings().start_date)])
