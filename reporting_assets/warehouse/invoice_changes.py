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

Those sums are taken only for the invoices whose payments may have changed, and for the ones
staged again anyway (``sum_candidates``): the ones recorded in staging.invoice_payment_changes
since the last run (by staged_payments' writes, ``recording_payment_changes``, and retention),
and the unsettled ones: invoices of payments validated outside staging.payments, and of staged
payments whose day is not current. The unsettled ones are recorded again for the next run, whose
days may be current by then. A write of many days records that every invoice is to be compared; so do more
candidates than SOME_CANDIDATES: then every staged payment is summed, as before.

Anything else that changed what invoices are resolved against (a reload of the patients, a
removed invoice, a whole copy: ``raw.replica_version.lookups_version``) stages every invoice again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import pandas as pd
import psycopg2.extensions
from psycopg2 import sql

from ..dates import DateWindow
from ..schemas import NO_RESOLVABLE_PATIENT
from .accounting import INVOICE_SUMS, INVOICE_SUMS_OF_DAYS, SUMS_READ, totals_frame
from .writer import TableSpec, copy_frame, lock

ASSET_KEY = "staged_invoices"
_TOTALS = "_invoice_totals"  # per invoice: the paid sums and last payment date of every valid payment, for this transaction
PAYMENT_CHANGES = "staging.invoice_payment_changes"  # sql/014; NULL: compare every invoice
_CHANGED = "_changed_invoices"  # the invoices take_payment_changes took, for this transaction
_UNSETTLED = "_unsettled_invoices"  # the invoices settle_later found, for this transaction
LISTED_DAYS = 31  # a write of staging.payments over more days records that every invoice is to be compared
_ANYWAY = "_invoices_staged_anyway"  # the invoices _STAGE_ANYWAY finds, for this transaction
# The invoices staged again whatever their sums (%s: since, the asset key twice, since, the reason): the
# ones the sync wrote since, the ones neither staged nor quarantined, and the ones rejected for an
# unknown patient when patients were added since.
_STAGE_ANYWAY = (
    "SELECT id AS source_invoice_id FROM raw.invoices WHERE version > %s "
    "UNION SELECT r.id FROM raw.invoices r WHERE NOT EXISTS (SELECT 1 FROM staging.invoices i WHERE i.source_invoice_id = r.id) "
    "AND NOT EXISTS (SELECT 1 FROM reporting.quarantine q WHERE q.asset_key = %s AND q.source_id = r.id) "
    "UNION SELECT q.source_id FROM reporting.quarantine q CROSS JOIN raw.replica_version v "
    "WHERE q.asset_key = %s AND q.source_id IS NOT NULL AND v.appended_version > %s AND %s = ANY(q.reasons)"
)
SOME_CANDIDATES = 200_000  # more candidates than this: every staged payment is summed, in one pass


@contextlib.contextmanager
def recording_payment_changes(conn: psycopg2.extensions.connection, table: TableSpec, window: DateWindow) -> Iterator[None]:
    """Around the replacement of the window's staging.payments rows (``table``; in ``conn``'s transaction):
    record the invoices whose sums over the window differ after it, or, for more than LISTED_DAYS days,
    that every invoice is to be compared."""
    days = window.days()
    if len(days) > LISTED_DAYS:
        yield
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO {PAYMENT_CHANGES} (source_invoice_id) VALUES (NULL)")
        return
    lock(conn, table, [d.isoformat() for d in days])  # the rows compared below are the rows the write replaces
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE _invoice_sums_before ON COMMIT DROP AS " + INVOICE_SUMS_OF_DAYS, (days,))
    yield
    with conn.cursor() as cur:
        cur.execute(
            f"WITH after AS MATERIALIZED ({INVOICE_SUMS_OF_DAYS}) INSERT INTO {PAYMENT_CHANGES} (source_invoice_id) "
            "SELECT DISTINCT source_invoice_id FROM ((TABLE _invoice_sums_before EXCEPT TABLE after) "
            "UNION ALL (TABLE after EXCEPT TABLE _invoice_sums_before)) AS changed",
            (days,),
        )


def delete_payments_recorded(conn: psycopg2.extensions.connection, where: sql.Composable, params: tuple) -> int:
    """Delete the staging.payments rows ``where`` selects (retention), recording their invoices; how many."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "WITH gone AS (DELETE FROM staging.payments WHERE {} RETURNING source_invoice_id), "
                "recorded AS (INSERT INTO {} (source_invoice_id) SELECT DISTINCT source_invoice_id FROM gone WHERE source_invoice_id IS NOT NULL) "
                "SELECT count(*) FROM gone"
            ).format(where, sql.SQL(PAYMENT_CHANGES)),
            params,
        )
        return cur.fetchone()[0]


def take_payment_changes(conn: psycopg2.extensions.connection) -> bool:
    """At the start of staged_invoices' transaction: take (delete) the recorded invoices into a temporary table;
    whether each invoice is to be compared instead (a NULL record). A write committing later leaves its records."""
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE {_CHANGED} ON COMMIT DROP AS WITH taken AS (DELETE FROM {PAYMENT_CHANGES} RETURNING source_invoice_id) "
            "SELECT DISTINCT source_invoice_id FROM taken"
        )
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {_CHANGED} WHERE source_invoice_id IS NULL)")
        return bool(cur.fetchone()[0])


def settle_later(conn: psycopg2.extensions.connection, current_days: list[dt.date], cutoff: dt.date, validated: pd.DataFrame) -> None:
    """The unsettled invoices, into a temporary table: those of the payments validated in this run (``validated``,
    per invoice: source_invoice_id, paid_cents, last_payment_date), and of the staged payments of days not in
    ``current_days`` (counted days that are not current, and days before the retention ``cutoff``, whose counts
    retention removes first). record_unsettled records them for the next run."""
    with conn.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {_TOTALS}_validated (source_invoice_id BIGINT, paid_cents BIGINT, last_payment_date DATE) ON COMMIT DROP")
        copy_frame(conn, sql.Identifier(f"{_TOTALS}_validated"), list(validated.columns), validated)
        cur.execute(
            f"CREATE TEMP TABLE {_UNSETTLED} ON COMMIT DROP AS SELECT source_invoice_id FROM {_TOTALS}_validated "
            "UNION SELECT source_invoice_id FROM staging.payments WHERE source_invoice_id IS NOT NULL AND (payment_date < %s "
            "OR payment_date = ANY(ARRAY(SELECT day FROM staging.payment_day_counts WHERE day <> ALL(%s::date[]))))",
            (cutoff, current_days),
        )


def record_unsettled(conn: psycopg2.extensions.connection) -> None:
    """Record the unsettled invoices (settle_later) for the next run (same transaction); more than
    SOME_CANDIDATES of them (payments of a long history before the retention cutoff, validated by every
    run): one NULL instead, since the next run then adds up every invoice's sums anyway."""
    with conn.cursor() as cur:
        cur.execute(
            f"WITH unsettled AS (SELECT count(*) AS invoices FROM {_UNSETTLED}) "
            f"INSERT INTO {PAYMENT_CHANGES} (source_invoice_id) SELECT u.source_invoice_id FROM {_UNSETTLED} u, unsettled "
            "WHERE unsettled.invoices <= %s UNION ALL SELECT NULL FROM unsettled WHERE unsettled.invoices > %s",
            (SOME_CANDIDATES, SOME_CANDIDATES),
        )


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


def to_stage_again(conn: psycopg2.extensions.connection, since: int, current_days: list[dt.date], compare_every_invoice: bool) -> tuple[list[int], int | None]:
    """The ids of the invoices whose staged row may differ now, in order (after take_payment_changes and settle_later),
    and how many invoices' payments were summed to find them (None: every invoice's).

    The invoices to stage again whatever their sums (``_STAGE_ANYWAY``) are candidates too, so that
    every invoice staged again has its sums. Sums the payments of the candidates (``sum_candidates``),
    or of every invoice when ``compare_every_invoice`` or when they are many, over ``current_days``
    and the payments validated in this run. Leaves those sums in a temporary table for :func:`totals_of`.
    """
    with conn.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {_ANYWAY} ON COMMIT DROP AS {_STAGE_ANYWAY}", (since, ASSET_KEY, ASSET_KEY, since, NO_RESOLVABLE_PATIENT))
    candidates = None if compare_every_invoice else sum_candidates(conn)
    if candidates is not None and candidates > SOME_CANDIDATES:
        candidates = None
    staged = INVOICE_SUMS_OF_DAYS
    compared = "staging.invoices i"
    if candidates is not None:
        staged = INVOICE_SUMS.format(where="payment_date = ANY(%s::date[]) AND source_invoice_id = ANY(ARRAY(SELECT source_invoice_id FROM _sum_candidates))")
        compared = "staging.invoices i JOIN _sum_candidates USING (source_invoice_id)"
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE {_TOTALS} ON COMMIT DROP AS "
            "SELECT source_invoice_id, sum(paid_cents)::bigint AS paid_cents, max(last_payment_date) AS last_payment_date FROM ("
            f"{staged} UNION ALL SELECT source_invoice_id, paid_cents, last_payment_date FROM {_TOTALS}_validated) sums GROUP BY 1",
            (current_days,),
        )
        cur.execute(f"ALTER TABLE {_TOTALS} ADD PRIMARY KEY (source_invoice_id)")
        cur.execute(
            f"SELECT i.source_invoice_id FROM {compared} LEFT JOIN {_TOTALS} t USING (source_invoice_id) "
            "WHERE i.paid_cents <> coalesce(t.paid_cents, 0) OR i.last_payment_date IS DISTINCT FROM t.last_payment_date "
            f"UNION SELECT source_invoice_id FROM {_ANYWAY} ORDER BY 1"
        )
        return [i for (i,) in cur.fetchall()], candidates


def sum_candidates(conn: psycopg2.extensions.connection) -> int:
    """The invoices whose sums are added up, into a temporary table: the ones recorded
    (take_payment_changes), the unsettled ones (settle_later) and the ones staged again anyway; how many."""
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE _sum_candidates ON COMMIT DROP AS SELECT source_invoice_id FROM {_CHANGED} WHERE source_invoice_id IS NOT NULL "
            f"UNION SELECT source_invoice_id FROM {_UNSETTLED} UNION SELECT source_invoice_id FROM {_ANYWAY}"
        )
        count = cur.rowcount
        cur.execute("ANALYZE _sum_candidates")
        return count


def totals_of(conn: psycopg2.extensions.connection, ids: list[int]) -> pd.DataFrame:
    """The sums :func:`to_stage_again` left, for these invoices: source_invoice_id, paid_cents, last_payment_date."""
    with conn.cursor() as cur:
        cur.execute(SUMS_READ.format(sums=_TOTALS) + " WHERE source_invoice_id = ANY(%s::bigint[])", (ids,))
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
