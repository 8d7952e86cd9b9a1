"""outstanding_payments: the invoices overdue and not fully paid as of today (clinic time zone)."""


import datetime as dt
from decimal import Decimal

import dagster as dg
import pandas as pd

from .. import schemas
from ..resources import ReportingPolicyResource, WarehouseResource
from ..warehouse.writer import TableSpec, merge_rows
from . import OWNERS, REPORTING_GROUP
from .common import audit_materialization, freshness, preview

TABLE = TableSpec(
    "reporting",
    "outstanding_payments",
    ("patient_id", "invoice_id", "amount_due", "days_overdue", "last_payment_date", "payment_status"),
    key="invoice_id",
    has_updated_at=True,
)


def outstanding(invoices: pd.DataFrame, today: dt.date, collection_days: int, write_off_days: int) -> pd.DataFrame:
    """Apply SPEC section 4 to staged invoices (invoice_id, patient_id, due_date, total_cents, invoice_status, paid_cents, last_payment_date)."""
    rows = []
    for inv in invoices.itertuples(index=False):
        due = pd.Timestamp(inv.due_date).date()
        amount_due = Decimal(int(inv.total_cents) - int(inv.paid_cents)).scaleb(-2)
        if inv.invoice_status in ("void", "paid") or not due < today or amount_due <= 0:
            continue
        days = (today - due).days
        if inv.invoice_status == "written_off" or days >= write_off_days:
            status = "written_off"
        elif days >= collection_days:
            status = "collection"
        else:
            status = "overdue"
        rows.append((inv.patient_id, inv.invoice_id, amount_due, days, inv.last_payment_date, status))
    frame = pd.DataFrame(rows, columns=list(TABLE.columns))
    return frame.astype({"days_overdue": "int64", "last_payment_date": "datetime64[ns]", "patient_id": object, "invoice_id": object, "payment_status": object})


@dg.asset(
    key="outstanding_payments",
    group_name=REPORTING_GROUP,
    deps=["staged_invoices"],
    kinds={"postgres", "table"},
    owners=OWNERS,
    freshness_policy=freshness(36),
    metadata={"dagster/table_name": "reporting.outstanding_payments", "dagster/column_schema": schemas.column_schema(schemas.OutstandingPayments)},
)
def outstanding_payments(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: ReportingPolicyResource
) -> dg.MaterializeResult:
    """Overdue unpaid invoices with aging status (overdue, collection, written_off) for collections work."""
    today = policy.today()
    with warehouse.transaction() as conn:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT invoice_id, patient_id, due_date, total_cents, invoice_status, paid_cents, last_payment_date "
                "FROM staging.invoices WHERE invoice_status NOT IN ('void', 'paid') AND due_date < %s",
                (today,),
            )
            invoices = pd.DataFrame(
                cur.fetchall(),
                columns=["invoice_id", "patient_id", "due_date", "total_cents", "invoice_status", "paid_cents", "last_payment_date"],
            )
        frame = outstanding(invoices, today, policy.collection_days, policy.write_off_days)
        schemas.validate(schemas.OutstandingPayments, frame)
        # the table holds exactly the invoices outstanding today; created_at of those that stay is kept
        written = merge_rows(conn, TABLE, frame, run_id=context.run.run_id)
        audit_materialization(context, conn, written, f"as of {today.isoformat()}")
    by_status = frame["payment_status"].value_counts().to_dict() if not frame.empty else {}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "as_of": today.isoformat(),
            "amount_due_total": float(sum(frame["amount_due"])) if not frame.empty else 0.0,
            "by_status": dg.MetadataValue.json(by_status),
            "preview": preview(frame.sort_values("days_overdue", ascending=False)),
        }
    )
