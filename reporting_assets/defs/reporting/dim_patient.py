"""dim_patient: one row per pseudonymous patient of any fact, with payment and balance figures from the facts."""

from decimal import Decimal

import dagster as dg
from psycopg2 import sql

from ... import schemas
from ...warehouse.writer import REPLACED_KEYS, TableSpec
from ..partitions import run_window
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
    + " FROM reporting.patient_payment_history WHERE {scope} GROUP BY patient_id), "
    "outstanding AS (SELECT patient_id, sum(amount_due) AS amount_outstanding FROM reporting.outstanding_payments WHERE {scope} GROUP BY patient_id), "
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


# After a run over a range of days that changed no invoice, only the patients with payments in
# those days (now, or before the run: their dim_patient row spans one of the days) can differ.
AFFECTED = sql.SQL(
    "SELECT patient_id FROM reporting.patient_payment_history WHERE payment_date >= {start} AND payment_date < {end} "
    "UNION SELECT patient_id FROM reporting.dim_patient WHERE first_payment_date < {end} AND last_payment_date >= {start}"
)
CURRENT_STATE_ASSETS = {dg.AssetKey("outstanding_payments"), dg.AssetKey("staged_invoices")}
# Whether dim_patient was built (whole, or for some patients) after the last refresh of the other
# tables it reads; every build after such a refresh starts whole, so then its rows are current.
BUILT_AFTER_CURRENT_STATE = (
    "SELECT (SELECT max(timestamp) FROM reporting.audit_log WHERE action = 'materialize' AND resource_id LIKE 'dim\\_patient%%') "
    "> coalesce(greatest((SELECT max(timestamp) FROM reporting.audit_log WHERE action = 'materialize' AND resource_id = 'outstanding_payments'), "
    "(SELECT max(refreshed_at) FROM staging.refreshes WHERE asset_key = 'staged_invoices')), '-infinity')"
)


def affected_patients(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> tuple[sql.Composable, str] | None:
    """The query of the patients this run can have changed, and its name; None when any may have changed (rebuild whole).

    Only after a run over a range of days that refreshed neither the invoices nor
    outstanding_payments (the other sources of a patient's row), and only when the warehouse's
    records (audit_log, staging.refreshes) show dim_patient built after their last refresh.
    """
    window = run_window(context.run)
    if window is None or context.job_def.asset_layer.selected_asset_keys & CURRENT_STATE_ASSETS:
        return None
    if not warehouse.query(BUILT_AFTER_CURRENT_STATE)[0][0]:
        return None  # NULL too: never built
    return AFFECTED.format(start=sql.Literal(window.start), end=sql.Literal(window.end)), f"patients {window}"


@reporting_table_asset(TABLE, schemas.DimPatient, ("patient_payment_history", "outstanding_payments", "staged_invoices"))
def dim_patient(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Pseudonymous patients with first/last payment, first invoice, payments by status and amount outstanding, for cohort analysis.

    Rebuilt whole, except after a run over a range of days that changed no invoice (the daily facts
    job): then only the patients with payments in those days are rebuilt.
    """
    tally = schemas.RuleTally(schemas.DimPatient)
    affected = affected_patients(context, warehouse)
    run_id = sql.Literal(context.run.run_id)
    if affected is None:
        written, frame = yield from rebuild_table(context, warehouse, TABLE, PATIENTS.format(run_id=run_id, scope=sql.SQL("TRUE")), tally)
    else:
        # the patients are taken before their rows are replaced: those leaving the days are included
        scope = sql.SQL("patient_id IN (SELECT * FROM {})").format(REPLACED_KEYS)
        select = PATIENTS.format(run_id=run_id, scope=scope)
        written, frame = yield from rebuild_table(context, warehouse, TABLE, select, tally, only=("patient_id", affected[0]), scope=affected[1])
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
