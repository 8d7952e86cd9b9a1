"""revenue_metrics: paid revenue per calendar day, zero-payment days included."""

from decimal import ROUND_HALF_UP, Decimal

import dagster as dg
import pandas as pd

from ... import schemas
from ...dates import DateWindow
from ...settings import current_settings
from ...staging.parsing import cents_to_decimal
from ...warehouse.writer import TableSpec, merge_rows
from ..partitions import backfill_policy, daily_partitions, partition_window
from ..resources import ReportingPolicyResource, WarehouseResource
from ..rule_checks import fail_on_broken_rules, schema_check_result
from .materialization import audit_materialization, preview, reporting_table_asset

TABLE = TableSpec(
    "reporting",
    "revenue_metrics",
    ("date_key", "total_revenue", "payment_count", "average_payment"),
    date_column="date_key",
    key="date_key",
    has_updated_at=True,
)
CENT = Decimal("0.01")


def daily_revenue(paid_by_day: dict, window: DateWindow) -> pd.DataFrame:
    """One row per day of ``window`` from {day: (sum of paid cents, count)}; average half-up to the cent."""
    rows = []
    for day in window.days():
        cents, count = paid_by_day.get(day, (0, 0))
        total = cents_to_decimal(cents)
        average = (total / count).quantize(CENT, rounding=ROUND_HALF_UP) if count else Decimal("0.00")
        rows.append((pd.Timestamp(day), total.quantize(CENT), int(count), average))
    return pd.DataFrame(rows, columns=list(TABLE.columns)).astype({"payment_count": "int64"})


def build_revenue_metrics(partitions: dg.PartitionsDefinition, backfill: dg.BackfillPolicy) -> dg.AssetsDefinition:
    @reporting_table_asset(TABLE, schemas.RevenueMetrics, ("staged_payments",), partitions, backfill)
    def revenue_metrics(context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: ReportingPolicyResource):
        """Daily paid revenue, payment count and average payment, for finance dashboards."""
        window = partition_window(context).days_from(policy.report_cutoff())
        tally = schemas.RuleTally(schemas.RevenueMetrics)
        if window.empty:
            yield dg.MaterializeResult(metadata={"dagster/row_count": 0, "partition_range": "outside retention"}, check_results=[schema_check_result(tally, "revenue_metrics")])
            return
        with warehouse.transaction() as conn:
            with conn.cursor() as cur:
                # integer cents sum exactly; refunded, pending and failed payments are not revenue
                cur.execute(
                    "SELECT payment_date, sum(amount_cents), count(*) FROM staging.payments "
                    "WHERE payment_status = 'paid' AND payment_date >= %s AND payment_date < %s GROUP BY payment_date",
                    (window.start, window.end),
                )
                paid_by_day = {day: (total, count) for day, total, count in cur.fetchall()}
            frame = daily_revenue(paid_by_day, window)
            with schemas.as_of(policy.today()):
                tally.add(frame)
            yield from fail_on_broken_rules(tally, "revenue_metrics")
            written = merge_rows(conn, TABLE, frame, run_id=context.run.run_id, window=window).rows
            audit_materialization(context, conn, written, str(window))
        recent = frame.sort_values("date_key", ascending=False)
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": written,
                "partition_range": str(window),
                "total_revenue": str(sum(frame["total_revenue"], Decimal("0.00"))),
                "preview": preview(recent),
            },
            check_results=[schema_check_result(tally, "revenue_metrics")],
        )

    return revenue_metrics


@dg.definitions
def defs() -> dg.Definitions:
    settings = current_settings()
    return dg.Definitions(assets=[build_revenue_metrics(daily_partitions(settings), backfill_policy(settings))])
