"""patient_payment_history: every valid payment, any status, per pseudonymous patient and day."""


from collections.abc import Iterator

import dagster as dg
import pandas as pd

from .. import schemas
from ..partitions import daily_partitions, partition_window, within_retention
from ..resources import ReportingPolicyResource, WarehouseResource
from ..warehouse.writer import TableSpec, replace_window
from . import OWNERS, REPORTING_GROUP
from .common import audit_materialization, freshness

TABLE = TableSpec(
    "reporting",
    "patient_payment_history",
    ("patient_id", "payment_date", "amount", "payment_status", "invoice_id", "source_payment_id"),
    date_column="payment_date",
)
READ_CHUNK = 100_000


@dg.asset(
    key="patient_payment_history",
    group_name=REPORTING_GROUP,
    deps=["staged_payments"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"postgres", "table"},
    owners=OWNERS,
    freshness_policy=freshness(36),
    metadata={"dagster/table_name": "reporting.patient_payment_history", "dagster/column_schema": schemas.column_schema(schemas.PatientPaymentHistory)},
)
def patient_payment_history(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: ReportingPolicyResource
) -> dg.MaterializeResult:
    """Payment history per de-identified patient for operational follow-up (paid, pending, failed, refunded)."""
    window = within_retention(partition_window(context), policy)
    if window.empty:
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "partition_range": "outside retention"})
    today = policy.today()

    # staged rows are read on a second connection so the window streams in bounded chunks
    with warehouse.transaction() as conn, warehouse.transaction() as reader:

        def validated_chunks() -> Iterator[pd.DataFrame]:
            with reader.cursor(name="staged_payments_window") as cur:
                cur.itersize = READ_CHUNK
                cur.execute(
                    "SELECT patient_id, payment_date, amount, payment_status, invoice_id, source_payment_id "
                    "FROM staging.payments WHERE payment_date >= %s AND payment_date < %s",
                    (window.start, window.end),
                )
                while rows := cur.fetchmany(READ_CHUNK):
                    frame = pd.DataFrame(rows, columns=list(TABLE.columns))
                    frame["payment_date"] = pd.to_datetime(frame["payment_date"])
                    with schemas.as_of(today):
                        yield schemas.validate(schemas.PatientPaymentHistory, frame)

        written = replace_window(conn, TABLE, validated_chunks(), window, run_id=context.run.run_id)
        audit_materialization(context, conn, written, str(window))
    return dg.MaterializeResult(metadata={"dagster/row_count": written, "partition_range": str(window)})
