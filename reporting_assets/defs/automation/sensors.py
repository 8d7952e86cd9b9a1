"""source_change_sensor: runs for exactly the days that new, changed or deleted source payments touch.

Each tick reads only what changed since the cursor (an indexed range on ``updated_at``),
looks up in the warehouse where a changed payment was before (so the day a moved payment
left is refreshed too), and notices deletions by comparing the source's row count with
the count it expects; only when that count is short does it compare per-day counts (index
range counts on the source against staging.payment_day_counts, which staged_payments keeps).
"""

import dataclasses
import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable

import dagster as dg
import pandas as pd

from ... import schemas
from ...settings import ConfigError, Settings, current_settings
from ...source import reader
from ...staging.parsing import parse_dates
from ..billing_source.assets import data_version, observation
from ..partitions import partition_range_tags
from ..resources import BillingSourceResource, ReportingPolicyResource, WarehouseResource
from .jobs import DAILY_FACTS_JOB, OUTSTANDING_JOB, build_jobs

MAX_CHANGES_PER_TICK = 50_000


@dataclasses.dataclass
class SourceCursor:
    """What the sensor has seen of the source: where to continue and what to expect."""

    payments_updated_at: str = ""
    payments_last_id: int = 0  # keyset: the last (updated_at, id) read
    payments_count: int = 0
    payments_max_id: int = 0
    invoices_fingerprint: str = ""
    invoices_updated_at: str = ""
    invoices_last_id: int = 0
    patients_fingerprint: str = ""
    payments_fingerprint: str = ""

    def dumps(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> "SourceCursor | None":
        if not text:
            return None
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in json.loads(text).items() if k in known})

    def digest(self) -> str:
        return hashlib.sha256(self.dumps().encode()).hexdigest()[:12]


    def data_versions(self) -> dict[str, str]:
        """The source tables' data versions this cursor has seen (billing_source.assets.data_version)."""
        return {"patients": self.patients_fingerprint, "invoices": self.invoices_fingerprint, "payments": self.payments_fingerprint}


def _last_key(conn: sqlite3.Connection, table: str) -> tuple[str, int]:
    newest = conn.execute(f"SELECT max(updated_at) FROM {table}").fetchone()[0] or ""
    last_id = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table} WHERE updated_at = ?", (newest,)).fetchone()[0]
    return newest, last_id


def current_cursor(conn: sqlite3.Connection) -> SourceCursor:
    count, payments_newest, max_id = reader.table_stats(conn, "payments")
    newest, last_id = _last_key(conn, "payments")
    invoices_newest, invoices_last = _last_key(conn, "invoices")
    return SourceCursor(
        newest, last_id, count, max_id, data_version(conn, "invoices"), invoices_newest, invoices_last, data_version(conn, "patients"),
        data_version(conn, "payments"),
    )


# quarantine reasons a new or changed invoice or patient can resolve
_RESOLVABLE_BY_INVOICES = [schemas.UNKNOWN_INVOICE, schemas.NO_RESOLVABLE_PATIENT, schemas.INVALID_INVOICE_NUMBER]
_RESOLVABLE_BY_PATIENTS = [schemas.NO_RESOLVABLE_PATIENT]


def _days_depending_on(warehouse: WarehouseResource, invoice_ids: list[int], reasons: list[str]) -> set[dt.date]:
    """Days of staged payments of these invoices, and days of payments quarantined for these reasons."""
    rows = warehouse.query(
        "SELECT payment_date FROM staging.payments WHERE source_invoice_id = ANY(%s) "
        "UNION SELECT partition_key::date FROM reporting.quarantine "
        "WHERE asset_key = 'staged_payments' AND partition_key IS NOT NULL AND reasons && %s::text[]",
        (invoice_ids, reasons),
    )
    return {r[0] for r in rows}


def contiguous_ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days grouped into inclusive ranges of consecutive days."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _previous_days(warehouse: WarehouseResource, ids: list[int]) -> set[dt.date]:
    """The days the warehouse holds these payments in (staged or quarantined): the days they may have left."""
    if not ids:
        return set()
    rows = warehouse.query(
        "SELECT payment_date FROM staging.payments WHERE source_payment_id = ANY(%s) "
        "UNION SELECT partition_key::date FROM reporting.quarantine "
        "WHERE source_table = 'payments' AND source_id = ANY(%s) AND partition_key IS NOT NULL",
        (ids, ids),
    )
    return {r[0] for r in rows}


# The date texts staging can give day D: 'D' itself, or 'D' followed by 'T' or ' ' and a digit
# (an ISO time). Counted as three index ranges; anything else sorting within the day is no
# payment of D for staging ('2026-03-05 at noon', '2026-03-0x').
_DAY_COUNT = (
    "SELECT (SELECT count(*) FROM payments WHERE payment_date = :day)"
    " + (SELECT count(*) FROM payments WHERE payment_date >= :day || 'T0' AND payment_date < :day || 'T:')"
    " + (SELECT count(*) FROM payments WHERE payment_date >= :day || ' 0' AND payment_date < :day || ' :')"
)


def _counted_day(text: object) -> str | None:
    """The day whose _DAY_COUNT includes this date text, if any."""
    if isinstance(text, str) and (len(text) == 10 or (len(text) > 11 and text[10] in "T " and text[11].isdigit())):
        return text[:10]
    return None


def _days_with_deletions(conn: sqlite3.Connection, warehouse: WarehouseResource, since: dt.date, today: dt.date) -> set[dt.date]:
    """Days where the warehouse holds more payments than the source has: rows were deleted there.

    Per day, the source's payments whose date text staging can give the day (_DAY_COUNT: index
    range counts) against staging.payment_day_counts (staged + quarantined on the day, kept by
    staged_payments). A payment the warehouse quarantined without a day whose text is still
    counted for a day ('2026-03-05T99:99') is taken off that day's count: it cannot hide a deletion.
    """
    days = [since + dt.timedelta(days=i) for i in range((today - since).days + 1)]
    source = {day.isoformat(): conn.execute(_DAY_COUNT, {"day": day.isoformat()}).fetchone()[0] for day in days}
    undated = [r[0] for r in warehouse.query(
        "SELECT source_id FROM reporting.quarantine WHERE asset_key = 'staged_payments' AND partition_key IS NULL AND source_id IS NOT NULL"
    )]
    for first in range(0, len(undated), 10_000):
        ids = undated[first : first + 10_000]
        for (text,) in conn.execute(f"SELECT payment_date FROM payments WHERE id IN ({', '.join('?' * len(ids))})", ids):
            day = _counted_day(text)
            if day in source:
                source[day] -= 1
    stored = warehouse.query(
        "SELECT day, staged + quarantined FROM staging.payment_day_counts WHERE day >= %s AND day <= %s", (since, today)
    )
    return {day for day, n in stored if n > source.get(day.isoformat(), 0)}


@dataclasses.dataclass
class Changes:
    days: set[dt.date]
    invoices_changed: bool
    payments_changed: bool
    cursor: SourceCursor


def detect_changes(conn: sqlite3.Connection, warehouse: WarehouseResource, previous: SourceCursor, today: dt.date, earliest: dt.date) -> Changes:
    """Everything that changed in the source since ``previous``, as the partition days it touches."""
    # keyset over (updated_at, id): the index on updated_at holds the rowid, so this is a range scan,
    # and a tick cut off by the limit resumes exactly where it stopped
    changed = conn.execute(
        "SELECT id, payment_date, updated_at FROM payments WHERE (updated_at, id) > (?, ?) ORDER BY updated_at, id LIMIT ?",
        (previous.payments_updated_at, previous.payments_last_id, MAX_CHANGES_PER_TICK),
    ).fetchall()

    days: set[dt.date] = set()
    for value in parse_dates([r[1] for r in changed]):
        # a payment whose date places it in no partition is quarantined by any run: today's will do
        day = today if pd.isna(value) or value.date() > today else value.date()
        days.add(day)
    ids = [r[0] for r in changed]
    days |= _previous_days(warehouse, ids)

    count, payments_newest, max_id = reader.table_stats(conn, "payments")
    # rows added since the last tick, counted whether or not this tick's batch reached them
    new_ids = conn.execute("SELECT count(*) FROM payments WHERE id > ?", (previous.payments_max_id,)).fetchone()[0]
    if count < previous.payments_count + new_ids:
        days |= _days_with_deletions(conn, warehouse, earliest, today)

    # a changed invoice changes its payments' invoice number and (through NULL patients) pseudonym;
    # a new invoice or patient can resolve payments quarantined for lacking one
    changed_invoices = conn.execute(
        "SELECT id, updated_at FROM invoices WHERE (updated_at, id) > (?, ?) ORDER BY updated_at, id LIMIT ?",
        (previous.invoices_updated_at, previous.invoices_last_id, MAX_CHANGES_PER_TICK),
    ).fetchall()
    patients = data_version(conn, "patients")
    if changed_invoices:
        days |= _days_depending_on(warehouse, [r[0] for r in changed_invoices], _RESOLVABLE_BY_INVOICES)
    if patients != previous.patients_fingerprint:
        days |= _days_depending_on(warehouse, [], _RESOLVABLE_BY_PATIENTS)

    newest, last_id = (changed[-1][2], changed[-1][0]) if changed else (previous.payments_updated_at, previous.payments_last_id)
    invoices_newest, invoices_last = (
        (changed_invoices[-1][1], changed_invoices[-1][0]) if changed_invoices else (previous.invoices_updated_at, previous.invoices_last_id)
    )
    invoices = data_version(conn, "invoices")
    payments = f"{count}:{payments_newest}:{max_id}"
    cursor = SourceCursor(newest, last_id, count, max_id, invoices, invoices_newest, invoices_last, patients, payments)
    in_range = {d for d in days if earliest <= d <= today}
    return Changes(in_range, invoices != previous.invoices_fingerprint, bool(changed) or count != previous.payments_count, cursor)


def observations(previous: SourceCursor | None, current: SourceCursor) -> list[dg.AssetObservation]:
    """An observation of each source table whose data version changed since the last tick."""
    before = previous.data_versions() if previous else {}
    return [observation(table, version) for table, version in current.data_versions().items() if version and before.get(table) != version]


def build_source_change_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="source_change_sensor",
        jobs=list(build_jobs(settings)),
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests runs for exactly the days new, changed or deleted source payments touch, and for outstanding_payments; observes the source tables.",
    )
    def source_change_sensor(
        context: dg.SensorEvaluationContext,
        billing_source: BillingSourceResource,
        warehouse: WarehouseResource,
        policy: ReportingPolicyResource,
    ):
        previous = SourceCursor.loads(context.cursor)
        try:
            with billing_source.open() as conn:
                if previous is None:
                    cursor = current_cursor(conn)
                    return dg.SensorResult(
                        skip_reason="Recorded the source's current state; changes from now on will request runs (backfill history from the UI).",
                        cursor=cursor.dumps(),
                        asset_events=observations(None, cursor),
                    )
                today = policy.today()
                earliest = max(settings.start_date, policy.report_cutoff())
                changes = detect_changes(conn, warehouse, previous, today, earliest)
        except ConfigError as exc:
            return dg.SkipReason(str(exc))
        except sqlite3.OperationalError as exc:
            return dg.SkipReason(f"The billing database could not be read ({exc}); the sensor will try again on its next tick.")

        digest = changes.cursor.digest()
        requests = [
            dg.RunRequest(job_name=DAILY_FACTS_JOB, run_key=f"facts:{first}...{last}@{digest}", tags=partition_range_tags(first, last))
            for first, last in contiguous_ranges(changes.days)
        ]
        if changes.payments_changed or changes.invoices_changed:
            requests.append(dg.RunRequest(job_name=OUTSTANDING_JOB, run_key=f"outstanding@{digest}"))
        events = observations(previous, changes.cursor)
        if not requests:
            return dg.SensorResult(
                skip_reason="No source payment or invoice changed since the last tick.", cursor=changes.cursor.dumps(), asset_events=events
            )
        return dg.SensorResult(run_requests=requests, cursor=changes.cursor.dumps(), asset_events=events)

    return source_change_sensor


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[build_source_change_sensor(current_settings())])
