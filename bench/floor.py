"""(g) The floor: the final rows, already computed, moved into the same tables the cheapest way.

The rows of patient_payment_history and outstanding_payments are exported once from the
pipeline's own output (``export_final_rows``, not timed) and loaded with plain COPY into a
fresh database with the seed's schema and indexes; revenue_metrics is one
``INSERT ... SELECT ... GROUP BY`` over the loaded history. No Python touches a row.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg2

HISTORY_COLUMNS = "patient_id, payment_date, amount, payment_status, invoice_id, source_payment_id"
OUTSTANDING_COLUMNS = "patient_id, invoice_id, amount_due, days_overdue, last_payment_date, payment_status"

REVENUE_SQL = """
INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment)
SELECT d::date,
       coalesce(sum(h.amount), 0),
       count(h.amount),
       coalesce(round(sum(h.amount) / nullif(count(h.amount), 0), 2), 0)
FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d
LEFT JOIN reporting.patient_payment_history h ON h.payment_date = d::date AND h.payment_status = 'paid'
GROUP BY d
"""


def export_final_rows(url: str, folder: Path) -> dict[str, Path]:
    """COPY the pipeline's final rows out of ``url`` into files (in the pipeline's write order)."""
    from reporting_assets.warehouse.database import libpq_dsn

    folder.mkdir(parents=True, exist_ok=True)
    files = {"history": folder / "floor_history.tsv", "outstanding": folder / "floor_outstanding.tsv"}
    statements = {
        "history": f"COPY (SELECT {HISTORY_COLUMNS} FROM reporting.patient_payment_history ORDER BY payment_date, source_payment_id) TO STDOUT",
        "outstanding": f"COPY (SELECT {OUTSTANDING_COLUMNS} FROM reporting.outstanding_payments ORDER BY invoice_id) TO STDOUT",
    }
    conn = psycopg2.connect(libpq_dsn(url))
    try:
        with conn.cursor() as cur:
            for name, statement in statements.items():
                with open(files[name], "w") as handle:
                    cur.copy_expert(statement, handle)
    finally:
        conn.close()
    return files


def run_floor(params: dict) -> dict:
    from reporting_assets.warehouse.database import libpq_dsn

    conn = psycopg2.connect(libpq_dsn(params["url"]))
    try:
        started = time.perf_counter()
        with conn.cursor() as cur:
            with open(params["history"]) as handle:
                cur.copy_expert(f"COPY reporting.patient_payment_history ({HISTORY_COLUMNS}) FROM STDIN", handle)
            copied = time.perf_counter()
            cur.execute(REVENUE_SQL, {"first": params["first"], "last": params["last"]})
            aggregated = time.perf_counter()
            with open(params["outstanding"]) as handle:
                cur.copy_expert(f"COPY reporting.outstanding_payments ({OUTSTANDING_COLUMNS}) FROM STDIN", handle)
        conn.commit()
        finished = time.perf_counter()
    finally:
        conn.close()
    return {
        "seconds": finished - started,
        "parts": {"copy_history": copied - started, "insert_select_revenue": aggregated - copied, "copy_outstanding_and_commit": finished - aggregated},
    }
