"""dim_patient: one row per pseudonymous patient of any fact, with payment and balance figures from the facts."""

from decimal import Decimal

import dagster as dg
from psycopg2 import sql

from ... import schemas
from ...warehouse.writer import TableSpec
from ..resources import WarehouseResource
from ..rule_checks import rule_check_results
from .materialization import reporting_table_asset, rebuild_table

TABLE = TableSpec("reporting", "dim_patient", tuple(schemas.DimPatient.to_schema().columns))


def _by_status(status: str) -> str:
    return (
        f"count(*) FILTER (WHERE payment_status = '{status}') AS {status}_count, "
        f"coalesce(sum(amount) FILTER (WHERE payment_status = '{status}'), 0) AS {status}_amount"
    )


# Only pseudonyms and figures of the facts: no source attribute of the patient is ever read.
PATIENTS = sql.SQL(
    "WITH payments AS ("
    " SELECT patient_id, min(payment_date) AS first_payment_date, max(payment_date) AS last_payment_date, "
    + ", ".join(_by_status(status) for status in ("paid", "pending", "failed", "refunded"))
    + " FROM reporting.patient_payment_history GROUP BY patient_id), "
    "outstanding AS (SELECT patient_id, sum(amount_due) AS amount_outstanding FROM reporting.outstanding_payments GROUP BY patient_id), "
    "patients AS (SELECT patient_id FROM payments UNION SELECT patient_id FROM outstanding), "
    "invoices AS (SELECT patient_id, min(issue_date) AS first_invoice_date FROM staging.invoices "
    " WHERE patient_id IN (SELECT patient_id FROM patients) GROUP BY patient_id) "
    "SELECT p.patient_id, pay.first_payment_date, pay.last_payment_date, inv.first_invoice_date, "
    + ", ".join(
        f"coalesce(pay.{status}_count, 0), coalesce(pay.{status}_amount, 0)" for status in ("paid", "pending", "failed", "refunded")
    )
    + ", coalesce(o.amount_outstanding, 0), {run_id} "
    "FROM patients p LEFT JOIN payments pay USING (patient_id) LEFT JOIN outstanding o USING (patient_id) "
    "LEFT JOIN invoices inv USING (patient_id)"
)


@reporting_table_asset(TABLE, schemas.DimPatient, ("patient_payment_history", "outstanding_payments", "staged_invoices"))
def dim_patient(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Pseudonymous patients with first/last payment, first invoice, payments by status and amount outstanding, for cohort analysis."""
    tally = schemas.RuleTally(schemas.DimPatient)
    written, frame = yield from rebuild_table(context, warehouse, TABLE, PATIENTS.format(run_id=sql.Literal(context.run.run_id)), tally)
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "amount_outstanding_total": str(sum(frame["amount_outstanding"], Decimal("0.00"))),
            "patients_with_payments": int((frame["first_payment_date"].notna()).sum()),
        },
        check_results=rule_check_results(tally, "dim_patient"),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[dim_patient])
