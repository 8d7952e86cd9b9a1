"""Retention: batched deletes that never hold long locks, each table's deletion logged in audit_log.

What each table keeps is in docs/operations.md ("Retention"); the periods are settings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping

import psycopg2.extensions
from psycopg2 import sql

from . import invoice_changes, patient_changes
from .audit import append_audit
from .database import transaction

BATCH_ROWS = 5_000
PERIODS = ("report", "quarantine", "etl_status", "audit")


@dataclasses.dataclass(frozen=True)
class RetentionRule:
    table: str  # schema-qualified
    column: str
    period: str  # one of PERIODS
    # deletes a batch (conn, WHERE condition, its parameters) and says how many rows; None: a plain DELETE
    delete: Callable[[psycopg2.extensions.connection, sql.Composable, tuple], int] | None = None


RULES = (
    RetentionRule("reporting.revenue_metrics", "date_key", "report"),
    # dim_patient takes the removed payments in as changes
    RetentionRule("reporting.patient_payment_history", "payment_date", "report", delete=patient_changes.delete_recorded),
    # which staging run each day's history rows came from (warehouse.history_days)
    RetentionRule("staging.history_days", "day", "report"),
    # a day's counts go before its rows: staged_invoices trusts only days that still have counts
    RetentionRule("staging.payment_day_counts", "day", "report"),
    # staged_invoices sums the removed payments' invoices again
    RetentionRule("staging.payments", "payment_date", "report", delete=invoice_changes.delete_payments_recorded),
    # an outstanding row not refreshed for the whole period is stale; dim_patient compares balances after
    RetentionRule("reporting.outstanding_payments", "updated_at", "report", delete=patient_changes.delete_outstanding),
    RetentionRule("reporting.quarantine", "quarantined_at", "quarantine"),
    RetentionRule("reporting.etl_process_status", "started_at", "etl_status"),
    RetentionRule("reporting.audit_log", "timestamp", "audit"),
)


def delete_older_than(url: str, rule: RetentionRule, cutoff: dt.date, batch_rows: int = BATCH_ROWS) -> int:
    """Delete rows with ``column < cutoff`` in short transactions of at most ``batch_rows`` rows each."""
    removed = 0
    while True:
        with transaction(url) as conn, conn.cursor() as cur:
            if rule.table == "reporting.audit_log":
                # the append-only trigger lets the retention path, and only it, delete
                cur.execute("SET LOCAL reporting.retention_cleanup = 'on'")
            batch = sql.SQL(f"ctid = ANY(ARRAY(SELECT ctid FROM {rule.table} WHERE {rule.column} < %s LIMIT %s))")
            if rule.delete is not None:
                deleted = rule.delete(conn, batch, (cutoff, batch_rows))
            else:
                cur.execute(sql.SQL(f"DELETE FROM {rule.table} WHERE ") + batch, (cutoff, batch_rows))
                deleted = cur.rowcount
            removed += deleted
            if deleted < batch_rows:
                return removed


def apply_retention(url: str, cutoffs: Mapping[str, dt.date], user_id: str, run_id: str | None) -> dict[str, int]:
    """Apply every rule with its period's cutoff; one audit row per table with the rows removed. Returns {table: rows removed}."""
    removed = {}
    for rule in RULES:
        cutoff = cutoffs[rule.period]
        removed[rule.table] = delete_older_than(url, rule, cutoff)
        with transaction(url) as conn:
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
