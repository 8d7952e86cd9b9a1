"""outstanding_payments: the invoices overdue and not fully paid as of today (clinic time zone)."""

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import dagster as dg
import numpy as np
import pandas as pd

from ... import schemas
from ...staging.parsing import cents_to_decimal
from ...warehouse import patient_changes
from ...warehouse.writer import TableSpec, merge_rows
from ..resources import ReportingPolicyResource, WarehouseResource
from ..rule_checks import fail_on_broken_rules, schema_check_result
from .materialization import audit_materialization, preview, reporting_table_asset

TABLE = TableSpec(
    "reporting",
    "outstanding_payments",
    ("patient_id", "invoice_id", "amount_due", "days_overdue", "last_payment_date", "payment_status"),
    key="invoice_id",
    has_updated_at=True,
)
STAGED_COLUMNS = ["invoice_id", "patient_id", "due_date", "total_cents", "invoice_status", "paid_cents", "last_payment_date"]
READ_CHUNK = 200_000


def outstanding(invoices: pd.DataFrame, today: dt.date, collection_days: int, write_off_days: int) -> pd.DataFrame:
    """Apply the outstanding rules of docs/data-model.md to staged invoices (STAGED_COLUMNS): the ones outstanding at ``today``, with aging status."""
    days = (pd.Timestamp(today) - pd.to_datetime(invoices["due_date"])).dt.days.to_numpy()
    due_cents = invoices["total_cents"].to_numpy(dtype=np.int64) - invoices["paid_cents"].to_numpy(dtype=np.int64)
    status = invoices["invoice_status"].to_numpy(dtype=object)
    keep = ~np.isin(status, ["void", "paid"]) & (days > 0) & (due_cents > 0)
    days, due_cents, status = days[keep], due_cents[keep], status[keep]
    aging = np.select(
        [(status == "written_off") | (days >= write_off_days), days >= collection_days], ["written_off", "collection"], "overdue"
    )
    return pd.DataFrame(
        {
            "patient_id": invoices["patient_id"].to_numpy(dtype=object)[keep],
            "invoice_id": invoices["invoice_id"].to_numpy(dtype=object)[keep],
            "amount_due": [cents_to_decimal(c) for c in due_cents],
            "days_overdue": days.astype("int64"),
            "last_payment_date": pd.to_datetime(invoices["last_payment_date"]).to_numpy()[keep].astype("datetime64[ns]"),
            "payment_status": aging.astype(object),
        }
    )


@reporting_table_asset(TABLE, schemas.OutstandingPayments, ("staged_invoices",))
def outstanding_payments(context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: ReportingPolicyResource):
    """Overdue unpaid invoices with aging status (overdue, collection, written_off) for collections work."""
    today = policy.today()
    tally = schemas.RuleTally(schemas.OutstandingPayments)
    # candidates stream from a second connection, so memory stays bounded however many invoices are open
    with warehouse.transaction() as conn, warehouse.transaction() as reader:

        def validated_chunks() -> Iterator[pd.DataFrame]:
            with reader.cursor(name="outstanding_candidates") as cur:
                cur.itersize = READ_CHUNK
                cur.execute(
                    f"SELECT {', '.join(STAGED_COLUMNS)} FROM staging.invoices "
                    "WHERE invoice_status NOT IN ('void', 'paid') AND due_date < %s AND total_cents > paid_cents",
                    (today,),
                )
                while rows := cur.fetchmany(READ_CHUNK):
                    frame = outstanding(pd.DataFrame(rows, columns=STAGED_COLUMNS), today, policy.collection_days, policy.write_off_days)
                    yield tally.add(frame)
                    if not tally.passed:  # stop before a broken row reaches the table's CHECKs
                        return

        # the table holds exactly the invoices outstanding today; created_at of those that stay is kept,
        # and a row that did not change (a run later the same day) is not written again
        written, changed = merge_rows(conn, TABLE, validated_chunks(), run_id=context.run.run_id, unchanged_rows_kept=True)
        yield from fail_on_broken_rules(tally, "outstanding_payments")
        if changed:  # the patients' balances in dim_patient may differ now
            patient_changes.request_comparison(conn, "outstanding_payments")
        audit_materialization(context, conn, written, f"as of {today.isoformat()}")
        with conn.cursor() as cur:
            cur.execute("SELECT payment_status, count(*), sum(amount_due) FROM reporting.outstanding_payments GROUP BY 1 ORDER BY 1")
            by_status = {status: (count, total) for status, count, total in cur.fetchall()}
            cur.execute(f"SELECT {', '.join(TABLE.columns)} FROM reporting.outstanding_payments ORDER BY days_overdue DESC LIMIT 10")
            oldest = pd.DataFrame(cur.fetchall(), columns=list(TABLE.columns))
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "rows_changed": changed,
            "as_of": today.isoformat(),
            "amount_due_total": str(sum((total for _, total in by_status.values()), Decimal("0.00"))),
            "by_status": dg.MetadataValue.json({status: count for status, (count, _) in by_status.items()}),
            "preview": preview(oldest),
        },
        check_results=[schema_check_result(tally, "outstanding_payments")],
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[outstanding_payments])
