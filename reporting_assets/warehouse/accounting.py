"""Nothing lost: per day, the staged and quarantined payments the warehouse holds, against the rows read."""

from __future__ import annotations

import psycopg2.extensions
from psycopg2.extras import execute_values

from ..dates import DateWindow


def stored_per_day(conn: psycopg2.extensions.connection, window: DateWindow) -> dict[str, dict[str, int]]:
    """{day: {"staged": n, "quarantined": m}} for every day of ``window``, read in the caller's transaction."""
    result = {day: {"staged": 0, "quarantined": 0} for day in window.day_keys()}
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
            "SELECT partition_key, count(*) FROM reporting.quarantine "
            "WHERE asset_key = 'staged_payments' AND partition_key = ANY(%s) GROUP BY 1",
            (window.day_keys(),),
        )
        for day, count in cur.fetchall():
            result[day]["quarantined"] = count
    return result


def save_per_day(conn: psycopg2.extensions.connection, stored: dict[str, dict[str, int]]) -> None:
    """Keep these days' counts in staging.payment_day_counts (what the source-change sensor compares with the source)."""
    if not stored:
        return
    with conn.cursor() as cur:
        execute_values(
            cur,
            "INSERT INTO staging.payment_day_counts (day, staged, quarantined) VALUES %s "
            "ON CONFLICT (day) DO UPDATE SET staged = EXCLUDED.staged, quarantined = EXCLUDED.quarantined",
            [(day, counts["staged"], counts["quarantined"]) for day, counts in stored.items()],
            template="(%s::date, %s, %s)",
        )


def unaccounted_days(read_per_day: dict[str, int], stored: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The days where staged + quarantined differs from the rows read."""
    return {
        day: {"read": read_per_day.get(day, 0), **counts}
        for day, counts in stored.items()
        if read_per_day.get(day, 0) != counts["staged"] + counts["quarantined"]
    }
