"""audit_log rows: appended in the caller's transaction, so an audit row commits with the change or read it records."""

from __future__ import annotations

import psycopg2.extensions


def append_audit(
    conn: psycopg2.extensions.connection,
    *,
    user_id: str,
    action: str,
    resource_type: str,
    resource_id: str | None,
    row_count: int | None = None,
    run_id: str | None = None,
    details: str | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> None:
    """Append one audit row in the caller's transaction (committed with the change it records)."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO reporting.audit_log "
            "(user_id, action, resource_type, resource_id, row_count, dagster_run_id, details, ip_address, user_agent) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                user_id[:50],
                action[:100],
                resource_type[:50],
                None if resource_id is None else resource_id[:50],
                row_count,
                run_id,
                details,
                ip_address,
                None if user_agent is None else user_agent[:500],
            ),
        )
