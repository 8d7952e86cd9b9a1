"""Which API role reads which report (SPEC section 10), and the database object behind each report."""

from __future__ import annotations

REPORTS_BY_ROLE: dict[str, tuple[str, ...]] = {
    "finance": ("revenue", "aging", "data_health", "etl_runs"),
    "billing": ("revenue", "aging", "outstanding", "payments", "data_health", "etl_runs"),
    "auditor": ("data_health", "etl_runs", "audit"),
    "admin": ("revenue", "aging", "outstanding", "payments", "data_health", "etl_runs", "audit"),
}
ROLES = tuple(REPORTS_BY_ROLE)

# audit_log.resource_type of each report: the table or view it reads
RESOURCE_TYPES: dict[str, str] = {
    "revenue": "revenue_metrics",
    "aging": "ar_aging",
    "outstanding": "outstanding_payments",
    "payments": "patient_payment_history",
    "data_health": "table_freshness",
    "etl_runs": "etl_process_status",
    "audit": "audit_log",
}


def group_role(role: str) -> str:
    """The PostgreSQL role each request of ``role`` reads as (SET LOCAL ROLE)."""
    if role not in REPORTS_BY_ROLE:
        raise ValueError(f"unknown API role {role!r}")
    return f"reporting_api_{role}"


def may_read(role: str, report: str) -> bool:
    return report in REPORTS_BY_ROLE.get(role, ())
