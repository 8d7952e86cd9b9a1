"""Which invoices staged_invoices stages again: on the everyday path only those that changed since it last ran.

An invoice's staged row depends on its source row, on whether its patient exists and on the
sums of its valid payments. Since the replica version staged_invoices last read before its rows
(``staging.refreshes.replica_version``), those change for:

* invoices the sync wrote since (``raw.invoices.version``, sql/011_invoice_versions.sql);
* invoices rejected for an unknown patient, when patients were added since;
* invoices neither staged nor quarantined (retention deletes quarantine rows a year old);
* staged invoices whose paid sums or last payment date now differ from what staging holds:
  compared in SQL, over the sums of the days staging.payments holds as current
  (``accounting.days_still_current``) and of the payments validated in this run.

Anything else that changed what invoices are resolved against (a reload of the patients, a
removed invoice, a whole copy: ``raw.replica_version.lookups_version``) stages every invoice again.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import psycopg2.extensions
from psycopg2 import sql

from ..schemas import NO_RESOLVABLE_PATIENT
from .accounting import INVOICE_SUMS_OF_DAYS, totals_frame
from .writer import copy_frame

ASSET_KEY = "staged_invoices"
_TOTALS = "_invoice_totals"  # per invoice: the paid sums and last payment date of every valid payment, for this transaction


def staged_from(conn: psycopg2.extensions.connection) -> int | None:
    """The replica version staged_invoices last staged from, when only some invoices can have changed since; else None."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT r.replica_version FROM staging.refreshes r CROSS JOIN raw.replica_version v "
            "WHERE r.asset_key = %s AND r.replica_version >= v.lookups_version",
            (ASSET_KEY,),
        )
        row = cur.fetchone()
    return row[0] if row else None


def record_staged(conn: psycopg2.extensions.connection, replica_version: int | None) -> None:
    """Note the replica version staged_invoices read before the rows it staged (after record_refresh, same transaction)."""
    with conn.cursor() as cur:
        cur.execute("UPDATE staging.refreshes SET replica_version = %s WHERE asset_key = %s", (replica_version, ASSET_KEY))


def to_stage_again(conn: psycopg2.extensions.connection, since: int, current_days: list[dt.date], validated: pd.DataFrame) -> list[int]:
    """The ids of the invoices whose staged row may differ now, in order.

    ``validated``: per invoice (source_invoice_id, paid_cents, last_payment_date), the sums of
    the payments validated in this run, the ones of days not in ``current_days``. Leaves every
    invoice's sums in a temporary table for :func:`totals_of`.
    """
    with conn.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {_TOTALS}_validated (source_invoice_id BIGINT, paid_cents BIGINT, last_payment_date DATE) ON COMMIT DROP")
        copy_frame(conn, sql.Identifier(f"{_TOTALS}_validated"), list(validated.columns), validated)
        cur.execute(
            f"CREATE TEMP TABLE {_TOTALS} ON COMMIT DROP AS "
            "SELECT source_invoice_id, sum(paid_cents)::bigint AS paid_cents, max(last_payment_date) AS last_payment_date FROM ("
            f"{INVOICE_SUMS_OF_DAYS} UNION ALL SELECT source_invoice_id, paid_cents, last_payment_date FROM {_TOTALS}_validated) sums GROUP BY 1",
            (current_days,),
        )
        cur.execute(f"ALTER TABLE {_TOTALS} ADD PRIMARY KEY (source_invoice_id)")
        cur.execute(
            "SELECT i.source_invoice_id FROM staging.invoices i LEFT JOIN "
            f"{_TOTALS} t USING (source_invoice_id) "
            "WHERE i.paid_cents <> coalesce(t.paid_cents, 0) OR i.last_payment_date IS DISTINCT FROM t.last_payment_date "
            "UNION SELECT id FROM raw.invoices WHERE version > %s "
            "UNION SELECT r.id FROM raw.invoices r WHERE NOT EXISTS (SELECT 1 FROM staging.invoices i WHERE i.source_invoice_id = r.id) "
            "AND NOT EXISTS (SELECT 1 FROM reporting.quarantine q WHERE q.asset_key = %s AND q.source_id = r.id) "
            "UNION SELECT q.source_id FROM reporting.quarantine q CROSS JOIN raw.replica_version v "
            "WHERE q.asset_key = %s AND q.source_id IS NOT NULL AND v.appended_version > %s AND %s = ANY(q.reasons) "
            "ORDER BY 1",
            (since, ASSET_KEY, ASSET_KEY, since, NO_RESOLVABLE_PATIENT),
        )
        return [i for (i,) in cur.fetchall()]


def totals_of(conn: psycopg2.extensions.connection, ids: list[int]) -> pd.DataFrame:
    """The sums :func:`to_stage_again` left, for these invoices: source_invoice_id, paid_cents, last_payment_date."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT source_invoice_id, paid_cents, last_payment_date FROM {_TOTALS} WHERE source_invoice_id = ANY(%s::bigint[])", (ids,))
        return totals_frame(cur.fetchall())


def quarantined(conn: psycopg2.extensions.connection) -> pd.DataFrame:
    """Every invoice quarantined now: source_id, reasons."""
    with conn.cursor() as cur:
        cur.execute("SELECT source_id, reasons FROM reporting.quarantine WHERE asset_key = %s ORDER BY source_id", (ASSET_KEY,))
        rows = cur.fetchall()
    return pd.DataFrame(rows, columns=["source_id", "reasons"]) if rows else pd.DataFrame({"source_id": [], "reasons": []})


def staged_count(conn: psycopg2.extensions.connection) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM staging.invoices")
        return cur.fetchone()[0]
