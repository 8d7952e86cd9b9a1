"""patient_payment_history: every valid payment, any status, per pseudonymous patient and day."""

import tempfile
from collections.abc import Iterator

import dagster as dg
import pandas as pd
from psycopg2 import sql

from .. import schemas
from ..partitions import daily_partitions, partition_window, within_retention
from ..resources import ReportingPolicyResource, WarehouseResource
from ..staging.assets import STAGED_PAYMENTS
from ..dates import DateWindow
from ..warehouse.writer import TableSpec, lock, replace_window_from_select
from . import OWNERS, REPORTING_GROUP
from .common import audit_materialization, freshness

TABLE = TableSpec(
    "reporting",
    "patient_payment_history",
    ("patient_id", "payment_date", "amount", "payment_status", "invoice_id", "source_payment_id"),
    date_column="payment_date",
)
# the table's rows are a projection of the staged payments of the window
PROJECTION = (
    "SELECT patient_id, payment_date, amount_cents, payment_status, invoice_id, source_payment_id "
    "FROM staging.payments WHERE payment_date >= %(start)s AND payment_date < %(end)s"
)
READ_CHUNK = 200_000


def projected_chunks(conn, window: DateWindow) -> Iterator[pd.DataFrame]:
    """The rows about to be written, streamed through a temporary file in bounded chunks."""
    with tempfile.TemporaryFile(mode="w+") as spool, conn.cursor() as cur:
        query = cur.mogrify(PROJECTION, {"start": window.start, "end": window.end}).decode()
        cur.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", spool)
        spool.seek(0)
        for chunk in pd.read_csv(
            spool,
            chunksize=READ_CHUNK,
            dtype={"patient_id": object, "invoice_id": object, "payment_status": object, "amount_cents": "int64", "source_payment_id": "int64"},
            keep_default_na=False,
            na_values={"invoice_id": [""]},
        ):
            chunk["payment_date"] = pd.to_datetime(chunk["payment_date"], format="%Y-%m-%d")
            yield chunk


@dg.asset(
    key="patient_payment_history",
    group_name=REPORTING_GROUP,
    deps=["staged_payments"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"postgres", "table"},
    owners=OWNERS,
    freshness_policy=freshness(36),
    metadata={
        "dagster/table_name": "reporting.patient_payment_history",
        "dagster/column_schema": schemas.column_schema(schemas.PatientPaymentHistory, numeric_money=True),
    },
)
def patient_payment_history(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, policy: ReportingPolicyResource
) -> dg.MaterializeResult:
    """Payment history per de-identified patient for operational follow-up (paid, pending, failed, refunded)."""
    window = within_retention(partition_window(context), policy)
    if window.empty:
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "partition_range": "outside retention"})
    with warehouse.transaction() as conn:
        # hold the staged days still: what is validated below is exactly what is written
        lock(conn, STAGED_PAYMENTS, [day.isoformat() for day in window.days()])
        validated = 0
        with schemas.as_of(policy.today()):
            for chunk in projected_chunks(conn, window):
                schemas.validate(schemas.PatientPaymentHistory, chunk)
                validated += len(chunk)
        select = sql.SQL(
            "SELECT patient_id, payment_date, amount_cents / 100.0, payment_status, invoice_id, source_payment_id, {run_id} "
            "FROM staging.payments WHERE payment_date >= {start} AND payment_date < {end}"
        ).format(run_id=sql.Literal(context.run.run_id), start=sql.Literal(window.start), end=sql.Literal(window.end))
        written = replace_window_from_select(conn, TABLE, select, window)
        if written != validated:
            raise dg.Failure(f"patient_payment_history: {validated} rows validated but {written} selected for writing; nothing was written.")
        audit_materialization(context, conn, written, str(window))
    return dg.MaterializeResult(metadata={"dagster/row_count": written, "partition_range": str(window)})
