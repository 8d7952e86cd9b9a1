"""Which patients' payment history a write changed, kept in staging.patients_changed for dim_patient.

patient_payment_history's writer takes the window's rows before replacing them and, after,
records every patient whose rows differ (as a multiset: a payment added, removed, moved,
or with another amount or status). dim_patient then rebuilds exactly those patients and
clears them, under the same advisory lock, so a change committed meanwhile is never lost.
"""

from __future__ import annotations

import psycopg2.extensions
from psycopg2 import sql

from ..dates import DateWindow
from .writer import TableSpec, lock

PATIENTS_CHANGED = TableSpec("staging", "patients_changed", ("patient_id",))
# what dim_patient aggregates of a payment: a change elsewhere (its invoice number) changes no patient's row
_COMPARED = "patient_id, payment_date, amount, payment_status"
_BEFORE = sql.Identifier("_history_before")


def _window_rows(window: DateWindow) -> sql.Composable:
    return sql.SQL("SELECT " + _COMPARED + " FROM reporting.patient_payment_history WHERE payment_date >= {} AND payment_date < {}").format(
        sql.Literal(window.start), sql.Literal(window.end)
    )


def take_before(conn: psycopg2.extensions.connection, window: DateWindow) -> None:
    """Keep the window's rows as they are before the write (a temporary table, dropped at commit)."""
    lock(conn, PATIENTS_CHANGED, ["*"])
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS ").format(_BEFORE) + _window_rows(window))


def record_changed(conn: psycopg2.extensions.connection, window: DateWindow) -> int:
    """Add the patients whose rows in the window differ from take_before's to staging.patients_changed; how many were not there yet."""
    after = _window_rows(window)
    before = sql.SQL("SELECT " + _COMPARED + " FROM {}").format(_BEFORE)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(_BEFORE))
        if not cur.fetchone()[0]:  # the days held nothing (a first fill): every patient of the rows written changed
            cur.execute(
                sql.SQL("INSERT INTO staging.patients_changed (patient_id) SELECT DISTINCT patient_id FROM ({after}) AS written "
                        "ON CONFLICT (patient_id) DO NOTHING").format(after=after)
            )
            return cur.rowcount
        cur.execute("SET LOCAL work_mem = '256MB'")  # a year's window is compared in memory, not in sorted runs on disk
        cur.execute(
            sql.SQL(
                "INSERT INTO staging.patients_changed (patient_id) SELECT DISTINCT patient_id FROM "
                "(({before} EXCEPT ALL {after}) UNION ALL ({after} EXCEPT ALL {before})) AS changed "
                "ON CONFLICT (patient_id) DO NOTHING"
            ).format(before=before, after=after)
        )
        return cur.rowcount
