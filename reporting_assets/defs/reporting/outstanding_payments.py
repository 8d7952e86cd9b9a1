"""outstanding_payments: the invoices overdue and not fully paid as of today (clinic time zone)."""

from decimal import Decimal

import dagster as dg
import pandas as pd
from psycopg2 import sql

from ... import schemas
from ...warehouse import patient_changes
from ...warehouse.writer import TableSpec, merge_rows_from_select
from ..resources import ReportingPolicyResource, WarehouseResource
from ..rule_checks import schema_check_result
from .materialization import preview, reporting_table_asset, validated_write

TABLE = TableSpec(
    "reporting",
    "outstanding_payments",
    ("patient_id", "invoice_id", "amount_due", "days_overdue", "last_payment_date", "payment_status"),
    key="invoice_id",
    has_updated_at=True,
)

# The outstanding rules of docs/data-model.md, over the staged invoices as of {today}: not void or
# paid, due before today and not fully paid; aging status from days overdue. Cents are exact integers.
OUTSTANDING = sql.SQL(
    "SELECT patient_id, invoice_id, (total_cents - paid_cents) / 100.0 AS amount_due, {today} - due_date AS days_overdue, "
    "last_payment_date, CASE WHEN invoice_status = 'written_off' OR {today} - due_date >= {write_off_days} THEN 'written_off' "
    "WHEN {today} - due_date >= {collection_days} THEN 'collection' ELSE 'overdue' END AS payment_status "
    "FROM staging.invoices WHERE invoice_status NOT IN ('void', 'paid') AND due_date < {today} AND total_cents > paid_cents"
)


def outstanding_today(policy: ReportingPolicyResource) -> sql.Composable:
    """OUTSTANDING as of the policy's today, with its collection and write-off thresholds."""
    return OUTSTANDING.format(
        today=sql.Literal(policy.today()), collection_days=sql.Literal(policy.collection_days), write_off_days=sql.Literal(policy.write_off_days)
    )


@reporting_table_asset(TABLE, schemas.OutstandingPayments, ("staged_invoices",))
def outstanding_payments(context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: ReportingPolicyResource):
    """Overdue unpaid invoices with aging status (overdue, collection, written_off) for collections work."""
    today = policy.today()
    tally = schemas.RuleTally(schemas.OutstandingPayments)
    run_id = context.run.run_id
    select = outstanding_today(policy)
    figures: dict = {}

    def write(conn) -> tuple[int, sql.Composable]:
        # the table holds exactly the invoices outstanding today; created_at of those that stay is kept,
        # and a row that did not change (a run later the same day) is not written again, nor validated again
        written, figures["changed"] = merge_rows_from_select(conn, TABLE, select, run_id=run_id, unchanged_rows_kept=True)
        if figures["changed"]:  # the patients' balances in dim_patient may differ now
            patient_changes.request_comparison(conn, "outstanding_payments")
        with conn.cursor() as cur:
            # per status from the aging totals the table's triggers keep (sql/007): 15 rows, not every invoice
            cur.execute("SELECT payment_status, sum(invoice_count), sum(amount_due) FROM reporting.outstanding_aging GROUP BY 1 ORDER BY 1")
            figures["by_status"] = {status: (int(count), total) for status, count, total in cur.fetchall()}
            cur.execute(f"SELECT {', '.join(TABLE.columns)} FROM reporting.outstanding_payments ORDER BY days_overdue DESC LIMIT 10")
            figures["oldest"] = pd.DataFrame(cur.fetchall(), columns=list(TABLE.columns))
        return written, sql.SQL("dagster_run_id = {}").format(sql.Literal(run_id))

    written, _ = yield from validated_write(context, warehouse, TABLE, write, tally, lambda frame: {}, scope=f"as of {today.isoformat()}")
    by_status = figures["by_status"]
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "rows_changed": figures["changed"],
            "as_of": today.isoformat(),
            "amount_due_total": str(sum((total for _, total in by_status.values()), Decimal("0.00"))),
            "by_status": dg.MetadataValue.json({status: count for status, (count, _) in by_status.items()}),
            "preview": preview(figures["oldest"]),
        },
        check_results=[schema_check_result(tally, "outstanding_payments")],
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[outstanding_payments])
