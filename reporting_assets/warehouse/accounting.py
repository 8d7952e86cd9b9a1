"""What staging holds per day: staged and quarantined payments against the rows read (nothing lost),
and which state of the billing replica each day was staged from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import psycopg2.extensions
from psycopg2.extras import execute_values

from ..bulk import bulk, collector_paused
from ..dates import DateWindow
from ..schemas import NO_RESOLVABLE_PATIENT, UNKNOWN_INVOICE
from ..staging.code_version import CODE_VERSION

# the reasons a payment is rejected for that an invoice or patient added later can remove
WAITING_FOR_AN_ID = (UNKNOWN_INVOICE, NO_RESOLVABLE_PATIENT)


def stored_per_day(conn: psycopg2.extensions.connection, window: DateWindow) -> dict[str, dict[str, int]]:
    """{day: {"staged": n, "quarantined": m, "waiting_for_id": w}} for every day of ``window``, read in the caller's
    transaction; ``w`` of the ``m`` were rejected for a reason in WAITING_FOR_AN_ID."""
    result = {day: {"staged": 0, "quarantined": 0, "waiting_for_id": 0} for day in window.day_keys()}
    if window.empty:
        return result
    with conn.cursor() as cur:
        cur.execute(
            "SELECT payment_date::text, count(*) FROM staging.payments WHERE payment_date >= %s AND payment_date < %s GROUP BY 1",
            (window.start, window.end),
        )
        for day, count in cur.fetchall():
            result[day]["staged"] = count
        cur.execute(
            "SELECT partition_key, count(*), count(*) FILTER (WHERE reasons && %s::text[]) FROM reporting.quarantine "
            "WHERE asset_key = 'staged_payments' AND partition_key = ANY(%s) GROUP BY 1",
            (list(WAITING_FOR_AN_ID), window.day_keys()),
        )
        for day, count, waiting in cur.fetchall():
            result[day]["quarantined"] = count
            result[day]["waiting_for_id"] = waiting
    return result


def save_per_day(
    conn: psycopg2.extensions.connection, stored: dict[str, dict[str, int]], replica_version: int | None, today: dt.date, run_id: str
) -> None:
    """Keep these days' counts in staging.payment_day_counts (what the source-change sensor compares with the source),
    with the replica version they were staged from (read before the rows), the run that staged them and the
    staging code's version. A day after ``today`` gets no version: its payments were rejected as future ones,
    which they stop being when the day comes."""
    if not stored:
        return
    with conn.cursor() as cur:
        execute_values(
            cur,
            "INSERT INTO staging.payment_day_counts (day, staged, quarantined, waiting_for_id, replica_version, staged_run_id, staged_code) VALUES %s "
            "ON CONFLICT (day) DO UPDATE SET staged = EXCLUDED.staged, quarantined = EXCLUDED.quarantined, "
            "waiting_for_id = EXCLUDED.waiting_for_id, replica_version = EXCLUDED.replica_version, "
            "staged_run_id = EXCLUDED.staged_run_id, staged_code = EXCLUDED.staged_code",
            [
                (day, counts["staged"], counts["quarantined"], counts["waiting_for_id"], replica_version if dt.date.fromisoformat(day) <= today else None, run_id, CODE_VERSION)
                for day, counts in stored.items()
            ],
            template="(%s::date, %s, %s, %s, %s::bigint, %s, %s)",
        )


def days_still_current(conn: psycopg2.extensions.connection, until: dt.date, cutoff: dt.date, staged_by: str | None = None) -> list[dt.date]:
    """The days up to ``until`` whose staged payments the billing replica would give again, as it stands now.

    A day counts when, since the replica version it was staged from (read before its rows),
    no sync changed one of its payments, nor what payments are resolved against, nor copied
    the payments whole; if payments of the day were rejected for an unknown invoice or
    patient, none added invoices or patients (the new id may be the one they referenced).
    Validating its payments again would accept the very rows staging holds
    (sql/010_replica_changes.sql), unless the code that stages them changed: with ``staged_by``
    (a staging.code_version), only the days staged by that code count. staged_invoices takes the
    current days' sums whatever code staged them, so that they agree with the history reported.
    A day after ``until`` is in the future and stays for the undated pass. A day before
    ``cutoff`` (the report retention's) counts only while staging still holds its rows:
    retention removes its counts first, but a run staging it meanwhile writes them again.
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.day FROM staging.payment_day_counts c CROSS JOIN raw.replica_version v "
            "WHERE c.day <= %s AND (%s::text IS NULL OR c.staged_code = %s) AND c.replica_version >= v.lookups_version AND c.replica_version >= v.payments_copied_version "
            "AND (c.replica_version >= v.appended_version OR c.waiting_for_id = 0) "
            "AND NOT EXISTS (SELECT 1 FROM raw.payment_day_versions d WHERE d.day = c.day AND d.version > c.replica_version) "
            "AND (c.day >= %s OR c.staged = (SELECT count(*) FROM staging.payments p WHERE p.payment_date = c.day)) "
            "ORDER BY c.day",
            (until, staged_by, staged_by, cutoff),
        )
        return [day for (day,) in cur.fetchall()]


def unchanged_days(conn: psycopg2.extensions.connection, window: DateWindow, today: dt.date, cutoff: dt.date) -> list[dt.date]:
    """The days of ``window`` whose staged payments are still current and were staged by this code
    (days_still_current): staging them again would write the very rows staging holds."""
    return [day for day in days_still_current(conn, today, cutoff, staged_by=CODE_VERSION) if window.start <= day < window.end]


def unchanged_per_day(conn: psycopg2.extensions.connection, days: list[dt.date]) -> dict[str, dict[str, int]]:
    """{day: {"read": n, "staged": s, "quarantined": q}} for these days left as they were: the replica's payments
    of the day now (which staging would read) against the staged and quarantined counts saved when it was staged."""
    if not days:
        return {}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.day::text, (SELECT count(*) FROM raw.payments p WHERE p.payment_day = c.day), c.staged, c.quarantined "
            "FROM staging.payment_day_counts c WHERE c.day = ANY(%s::date[])",
            (days,),
        )
        return {day: {"read": read, "staged": staged, "quarantined": quarantined} for day, read, staged, quarantined in cur.fetchall()}


TOTALS_CHUNK = 500_000  # invoices per chunk of summed totals: 5M invoices never sit in memory as Python rows at once


# per invoice, over the staged payments {where} selects: cents of the paid ones and the latest payment date (any status)
INVOICE_SUMS = (
    "SELECT source_invoice_id, coalesce(sum(amount_cents) FILTER (WHERE payment_status = 'paid'), 0)::bigint AS paid_cents, "
    "max(payment_date) AS last_payment_date FROM staging.payments WHERE {where} AND source_invoice_id IS NOT NULL GROUP BY 1"
)
INVOICE_SUMS_OF_DAYS = INVOICE_SUMS.format(where="payment_date = ANY(%s::date[])")  # %s: the days


# what Python reads of the sums: the last payment date as days since 1970, which numpy converts
# at once (a date object per invoice and the collector walking them took as long as the query)
SUMS_READ = "SELECT source_invoice_id, paid_cents, last_payment_date - DATE '1970-01-01' FROM {sums}"


@bulk
def totals_frame(rows: list[tuple]) -> pd.DataFrame:
    """SUMS_READ's rows (source_invoice_id, paid_cents, day number of last_payment_date) as the frame PaymentTotals.add_sums takes."""
    ids, paid, days = zip(*rows) if rows else ((), (), ())
    return pd.DataFrame(
        {
            "source_invoice_id": np.fromiter(ids, dtype=np.int64, count=len(rows)),
            "paid_cents": np.fromiter(paid, dtype=np.int64, count=len(rows)),
            "last_payment_date": pd.Series(pd.to_datetime(pd.array(days, dtype="Int64"), unit="D"), dtype="datetime64[ns]"),
        }
    )


def invoice_totals_of_days(conn: psycopg2.extensions.connection, days: list[dt.date]) -> Iterator[pd.DataFrame]:
    """INVOICE_SUMS_OF_DAYS of ``days``, in chunks."""
    with conn.cursor(name="invoice_totals_of_days") as cur:
        cur.itersize = TOTALS_CHUNK
        cur.execute(SUMS_READ.format(sums=f"({INVOICE_SUMS_OF_DAYS}) AS sums"), (days,))
        while True:
            with collector_paused():  # a chunk is up to TOTALS_CHUNK tuples (bulk.py)
                rows = cur.fetchmany(TOTALS_CHUNK)
            if not rows:
                return
            yield totals_frame(rows)


def unaccounted_days(read_per_day: dict[str, int], stored: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The days where staged + quarantined differs from the rows read."""
    return {
        day: {"read": read_per_day.get(day, 0), **counts}
        for day, counts in stored.items()
        if read_per_day.get(day, 0) != counts["staged"] + counts["quarantined"]
    }

