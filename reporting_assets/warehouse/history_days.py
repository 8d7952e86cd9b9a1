"""Which days patient_payment_history can leave as they are: those it wrote from the staged payments
the day still holds, with this code (staging.history_days, sql/016_unchanged_days.sql).

A day's history rows are a projection of its staged payments. staged_payments records which run
staged each day (staging.payment_day_counts.staged_run_id) and writes a new run id whenever it
stages the day again, so a day whose recorded staging run is the one its history was written
from holds the very rows writing it again would give. Both records are read and written under
the staged days' locks (writer.lock), in the transaction that writes the rows.
"""

from __future__ import annotations

import datetime as dt

import psycopg2.extensions

from ..dates import DateWindow
from ..staging.code_version import CODE_VERSION


def unchanged(conn: psycopg2.extensions.connection, window: DateWindow) -> dict[dt.date, int]:
    """{day: staged rows} of the days of ``window`` whose history was written from their current staging by this code."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT h.day, c.staged FROM staging.history_days h JOIN staging.payment_day_counts c ON c.day = h.day "
            "WHERE h.day >= %s AND h.day < %s AND h.staged_run_id = c.staged_run_id AND h.code_version = %s AND c.staged_code = %s",
            (window.start, window.end, CODE_VERSION, CODE_VERSION),
        )
        return dict(cur.fetchall())


def record(conn: psycopg2.extensions.connection, window: DateWindow) -> None:
    """The days of ``window`` were just written from the staging they hold: record which (same transaction)."""
    with conn.cursor() as cur:
        cur.execute("DELETE FROM staging.history_days WHERE day >= %s AND day < %s", (window.start, window.end))
        cur.execute(
            "INSERT INTO staging.history_days (day, staged_run_id, code_version) SELECT day, staged_run_id, %s "
            "FROM staging.payment_day_counts WHERE day >= %s AND day < %s AND staged_run_id IS NOT NULL",
            (CODE_VERSION, window.start, window.end),
        )
