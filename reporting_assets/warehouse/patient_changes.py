"""How patient_payment_history's writes change each patient, kept in staging.patient_history_changes for dim_patient.

The writer takes the window's rows before replacing them and, after, records the difference
(as a multiset: a payment added, removed, moved, or with another amount or status) as net
changes per patient, day and status: rows added or removed and the amount they add; retention
records the rows it deletes as removed. dim_patient then adds them to the patients' rows and
empties the table, under the same advisory lock, so a change committed meanwhile is never lost
(see ``net_changes``).

Changes are recorded once dim_patient has been built (``mark_built``, in every build's
transaction): before that, its first build is whole and reads the history itself.

The other tables a patient's row is built from, staging.invoices (the first invoice date) and
outstanding_payments (the amount outstanding), are not recorded per patient: each write that
changes them asks for a comparison instead (``request_comparison``), which the next build takes
(``comparison_requested``) before it compares every patient's row with them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg2.extensions
from psycopg2 import sql

from ..dates import DateWindow
from .writer import TableSpec, lock, record_refresh

HISTORY_CHANGES = TableSpec("staging", "patient_history_changes", ("patient_id", "payment_date", "payment_status", "row_change", "amount_change"))
STATUSES = ("paid", "pending", "failed", "refunded")
# what dim_patient aggregates of a payment: a change elsewhere (its invoice number) changes no patient's row
_COMPARED = "patient_id, payment_date, amount, payment_status"
_BEFORE = sql.Identifier("_history_before")
_BUILT = "dim_patient"  # its staging.refreshes row: dim_patient was built, so every history change since is recorded
NET_CHANGES = sql.Identifier("_patient_net_changes")  # the temporary table net_changes fills

COMPARISON_REQUESTS = "staging.patient_comparison_requests"


def request_comparison(conn: psycopg2.extensions.connection, asset_key: str) -> None:
    """In the transaction of a write that changed staging.invoices or outstanding_payments (the other
    tables a patient's row is built from): ask dim_patient's next build to compare its rows with them.
    An insert, never an update: the writer does not wait for a dim_patient build (sql/013)."""
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {COMPARISON_REQUESTS} (asset_key) VALUES (%s)", (asset_key,))


def comparison_requested(conn: psycopg2.extensions.connection) -> bool:
    """In a dim_patient build's transaction, before it reads those tables: take the requests committed so
    far (deleted with the build; a write committing later leaves its request for the next build)."""
    with conn.cursor() as cur:
        cur.execute(f"DELETE FROM {COMPARISON_REQUESTS}")
        return cur.rowcount > 0


def delete_outstanding(conn: psycopg2.extensions.connection, where: sql.Composable, params: tuple) -> int:
    """Delete the outstanding_payments rows ``where`` selects (retention), asking for a comparison when any were; how many."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DELETE FROM reporting.outstanding_payments WHERE {}").format(where), params)
        deleted = cur.rowcount
    if deleted:
        request_comparison(conn, "retention")
    return deleted


def changes_are_recorded(conn: psycopg2.extensions.connection) -> bool:
    """Whether dim_patient was ever built (see mark_built): then every change of the history is recorded for it."""
    with conn.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM staging.refreshes WHERE asset_key = %s)", (_BUILT,))
        return bool(cur.fetchone()[0])


def has_rows(conn: psycopg2.extensions.connection) -> bool:
    """Whether dim_patient holds any row: an emptied table (restored, truncated by hand) is built whole again."""
    with conn.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM reporting.dim_patient)")
        return bool(cur.fetchone()[0])


def mark_built(conn: psycopg2.extensions.connection) -> None:
    """Note, in a dim_patient build's transaction, that its rows take in every change recorded so far: record them from now on."""
    record_refresh(conn, _BUILT)


def lock_changes(conn: psycopg2.extensions.connection) -> None:
    """Hold patient_payment_history's writer off until this transaction commits: no change is recorded meanwhile."""
    lock(conn, HISTORY_CHANGES, ["*"])


def _window_rows(window: DateWindow) -> sql.Composable:
    return sql.SQL("SELECT " + _COMPARED + " FROM reporting.patient_payment_history WHERE payment_date >= {} AND payment_date < {}").format(
        sql.Literal(window.start), sql.Literal(window.end)
    )


@contextlib.contextmanager
def recording(conn: psycopg2.extensions.connection, window: DateWindow) -> Iterator[None]:
    """Around the replacement of the window's history rows (in ``conn``'s transaction): record how it changed each patient."""
    lock_changes(conn)
    if not changes_are_recorded(conn):
        yield
        return
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS ").format(_BEFORE) + _window_rows(window))
        held = cur.rowcount
    yield
    after = _window_rows(window)
    if held == 0:  # the days held nothing (a new day): every row written was added
        changed = sql.SQL("SELECT " + _COMPARED + ", 1 AS sign FROM ({}) AS added").format(after)
    else:
        before = sql.SQL("SELECT " + _COMPARED + " FROM {}").format(_BEFORE)
        changed = sql.SQL(
            "SELECT *, -1 AS sign FROM ({before} EXCEPT ALL {after}) AS removed UNION ALL SELECT *, 1 FROM ({after} EXCEPT ALL {before}) AS added"
        ).format(before=before, after=after)
    with conn.cursor() as cur:
        cur.execute("SET LOCAL work_mem = '256MB'")  # a year's window is compared in memory, not in sorted runs on disk
        cur.execute(
            sql.SQL(
                "INSERT INTO {table} (patient_id, payment_date, payment_status, row_change, amount_change) "
                "SELECT patient_id, payment_date, payment_status, sum(sign), sum(sign * amount) FROM ({changed}) AS changed "
                "GROUP BY patient_id, payment_date, payment_status HAVING sum(sign) <> 0 OR sum(sign * amount) <> 0"
            ).format(table=HISTORY_CHANGES.ident, changed=changed)
        )


def delete_recorded(conn: psycopg2.extensions.connection, where: sql.Composable, params: tuple) -> int:
    """Delete the history rows ``where`` selects (retention), recording them as removed once changes are recorded; how many."""
    lock_changes(conn)
    delete = sql.SQL("DELETE FROM reporting.patient_payment_history WHERE {} RETURNING " + _COMPARED).format(where)
    with conn.cursor() as cur:
        if not changes_are_recorded(conn):
            cur.execute(delete, params)
            return cur.rowcount
        cur.execute(
            sql.SQL(
                "WITH gone AS ({delete}), recorded AS (INSERT INTO {table} (patient_id, payment_date, payment_status, row_change, amount_change) "
                "SELECT patient_id, payment_date, payment_status, -count(*), -sum(amount) FROM gone GROUP BY patient_id, payment_date, payment_status) "
                "SELECT count(*) FROM gone"
            ).format(delete=delete, table=HISTORY_CHANGES.ident),
            params,
        )
        return cur.fetchone()[0]


def net_changes(conn: psycopg2.extensions.connection) -> int:
    """The recorded changes per patient, in the temporary table NET_CHANGES; how many patients.

    Per status: ``<status>_count`` and ``<status>_amount`` to add. Per day, the rows of all
    statuses are netted first: ``added_first``/``added_last`` are the earliest and latest days
    that gained rows, ``removed_first``/``removed_last`` those that lost rows (only a loss on a
    patient's first or last payment day can move it); ``rebuild``: a change without a day asks
    for the patient's row to be rebuilt from their whole history.
    """
    by_status = ", ".join(
        f"coalesce(sum(row_change) FILTER (WHERE payment_status = '{s}'), 0) AS {s}_count, "
        f"coalesce(sum(amount_change) FILTER (WHERE payment_status = '{s}'), 0) AS {s}_amount"
        for s in STATUSES
    )
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "CREATE TEMP TABLE {net} ON COMMIT DROP AS "
                "WITH days AS (SELECT patient_id, payment_date, sum(row_change) AS rows FROM {table} "
                " WHERE payment_date IS NOT NULL GROUP BY patient_id, payment_date), "
                "dates AS (SELECT patient_id, min(payment_date) FILTER (WHERE rows > 0) AS added_first, "
                " max(payment_date) FILTER (WHERE rows > 0) AS added_last, min(payment_date) FILTER (WHERE rows < 0) AS removed_first, "
                " max(payment_date) FILTER (WHERE rows < 0) AS removed_last FROM days GROUP BY patient_id), "
                "statuses AS (SELECT patient_id, bool_or(payment_date IS NULL) AS rebuild, " + by_status + " FROM {table} GROUP BY patient_id) "
                "SELECT * FROM statuses LEFT JOIN dates USING (patient_id)"
            ).format(net=NET_CHANGES, table=HISTORY_CHANGES.ident)
        )
        patients = cur.rowcount
        cur.execute(sql.SQL("ANALYZE {}").format(NET_CHANGES))
    return patients


def clear_changes(conn: psycopg2.extensions.connection) -> None:
    """Empty the table: every change in it is taken in (call under lock_changes)."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DELETE FROM {}").format(HISTORY_CHANGES.ident))
