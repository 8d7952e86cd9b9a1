"""The short report printed after a quickstart run and by `reporting-admin summary`."""

from __future__ import annotations

import datetime as dt

from ..settings import Settings
from ..warehouse.database import connect, redact, resolve_database_url
from ..warehouse.migrations import ensure_schema

TABLES = (
    "reporting.revenue_metrics",
    "reporting.patient_payment_history",
    "reporting.outstanding_payments",
    "reporting.etl_process_status",
    "reporting.audit_log",
    "reporting.quarantine",
)


def collect_summary(url: str, today: dt.date) -> dict:
    ensure_schema(url)
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            counts = {}
            for table in TABLES:
                cur.execute(f"SELECT count(*) FROM {table}")
                counts[table.split(".")[1]] = cur.fetchone()[0]
            cur.execute(
                "SELECT coalesce(sum(total_revenue), 0), coalesce(sum(payment_count), 0) FROM reporting.revenue_metrics "
                "WHERE date_key > %s AND date_key <= %s",
                (today - dt.timedelta(days=7), today),
            )
            revenue_7d, payments_7d = cur.fetchone()
            cur.execute("SELECT source_table, count(*) FROM reporting.quarantine GROUP BY 1 ORDER BY 1")
            quarantined = dict(cur.fetchall())
            cur.execute("SELECT payment_status, count(*), coalesce(sum(amount_due), 0) FROM reporting.outstanding_payments GROUP BY 1 ORDER BY 1")
            outstanding = {status: (count, total) for status, count, total in cur.fetchall()}
    finally:
        conn.close()
    return {"rows": counts, "revenue_7d": revenue_7d, "payments_7d": payments_7d, "quarantined": quarantined, "outstanding": outstanding}


def print_summary(settings: Settings) -> dict:
    url = resolve_database_url(settings.database_url, settings.home)
    today = settings.today()
    summary = collect_summary(url, today)
    print(f"\nReporting database: {redact(url).replace('postgresql+psycopg2://', 'postgresql://')}")
    print("Rows per table:")
    for table, count in summary["rows"].items():
        print(f"  {table:<26} {count:>10,}")
    print(f"Revenue of the last 7 days (to {today}): {summary['revenue_7d']:,.2f} from {summary['payments_7d']:,} paid payments")
    quarantined = summary["quarantined"]
    print("Quarantined source rows: " + (", ".join(f"{n:,} {t}" for t, n in quarantined.items()) if quarantined else "none"))
    if summary["outstanding"]:
        print("Outstanding invoices: " + ", ".join(f"{n:,} {s} ({t:,.2f})" for s, (n, t) in summary["outstanding"].items()))
    return summary
