"""Monthly retention (SPEC section 7): batched deletes that never hold long locks, each logged in audit_log."""

import dataclasses
import datetime as dt

import dagster as dg

from ..resources import ReportingPolicyResource, WarehouseResource
from ..warehouse.audit import append_audit
from .audit import launched_by

BATCH_ROWS = 5_000


@dataclasses.dataclass(frozen=True)
class RetentionRule:
    table: str  # schema-qualified
    column: str
    period: str  # ReportingPolicyResource field holding the period in days

    def cutoff(self, policy: ReportingPolicyResource) -> dt.date:
        return policy.today() - dt.timedelta(days=getattr(policy, self.period))


RULES = (
    RetentionRule("reporting.revenue_metrics", "date_key", "report_retention_days"),
    RetentionRule("reporting.patient_payment_history", "payment_date", "report_retention_days"),
    RetentionRule("staging.payments", "payment_date", "report_retention_days"),
    # an outstanding row not refreshed for the whole period is stale
    RetentionRule("reporting.outstanding_payments", "updated_at", "report_retention_days"),
    RetentionRule("reporting.quarantine", "quarantined_at", "quarantine_retention_days"),
    RetentionRule("reporting.etl_process_status", "started_at", "etl_status_retention_days"),
    RetentionRule("reporting.audit_log", "timestamp", "audit_retention_days"),
)


def delete_older_than(warehouse: WarehouseResource, rule: RetentionRule, cutoff: dt.date, batch_rows: int = BATCH_ROWS) -> int:
    """Delete rows with ``column < cutoff`` in short transactions of at most ``batch_rows`` rows each."""
    removed = 0
    while True:
        with warehouse.transaction() as conn, conn.cursor() as cur:
            if rule.table == "reporting.audit_log":
                # the append-only trigger lets the retention path, and only it, delete
                cur.execute("SET LOCAL reporting.retention_cleanup = 'on'")
            cur.execute(
                f"DELETE FROM {rule.table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {rule.table} WHERE {rule.column} < %s LIMIT %s))",
                (cutoff, batch_rows),
            )
            removed += cur.rowcount
            if cur.rowcount < batch_rows:
                return removed


def apply_retention(warehouse: WarehouseResource, policy: ReportingPolicyResource, user_id: str, run_id: str | None) -> dict[str, int]:
    """Apply every rule; append one audit row per table with the rows removed. Returns {table: rows removed}."""
    removed = {}
    for rule in RULES:
        cutoff = rule.cutoff(policy)
        removed[rule.table] = delete_older_than(warehouse, rule, cutoff)
        with warehouse.transaction() as conn:
            append_audit(
                conn,
                user_id=user_id,
                action="retention_cleanup",
                resource_type="table",
                resource_id=rule.table,
                row_count=removed[rule.table],
                run_id=run_id,
                details=f"{rule.column} < {cutoff.isoformat()}",
            )
    return removed


@dg.op(description="Delete report, staging, quarantine, run-status and audit rows older than their retention periods.")
def retention_cleanup(context: dg.OpExecutionContext, warehouse: WarehouseResource, policy: ReportingPolicyResource) -> dict:
    removed = apply_retention(warehouse, policy, launched_by(dict(context.run.tags)), context.run.run_id)
    for table, count in removed.items():
        context.log.info(f"retention removed {count} rows from {table}")
    return removed


@dg.job(description="Monthly retention of reporting data (SPEC section 7).", tags={"reporting/refresh": "retention"})
def retention_job():
    retention_cleanup()
