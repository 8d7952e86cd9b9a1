"""A deterministic sample of the billing application's SQLite database (docs/data-model.md, "Source").

Everything in it is obviously fake: names such as ``Testfirst000042 Fakepatient000042``,
SSNs in the never-issued 900-999 area, ``example.com`` e-mail addresses, 555-01xx phone
numbers (with the patient id as extension), ``<n> Example Street`` and ZIP+4 codes below
the lowest ZIP code in use (00501). Every PII value is derived from the patient id, so each
patient's values are distinct and searchable (dates of birth only for the first 31,412
patients: that is how many days 1920-2005 has).

Rows are generated in vectorised chunks with numpy and streamed into SQLite, so the
memory used does not grow with the row count. The same spec, seed and end date give the
same table contents. ``messy=True`` overlays the quirks docs/data-model.md describes (odd
amount types, garbage and future dates, odd statuses, orphans) on a few percent of rows,
drawn from a second random stream so the underlying clean data stays the same.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reporting_assets.source.contract import (
    INVOICE_STATUSES,
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    RECOMMENDED_SOURCE_INDEXES,
    SOURCE_DDL,
)


@dataclass(frozen=True)
class SampleSpec:
    patients: int = 2_000
    payments: int = 20_000
    days: int = 120  # date range length, ending at `end_date`
    seed: int = 7
    messy: bool = False
    end_date: dt.date | None = None  # default: today (UTC)


@dataclass(frozen=True)
class SampleSummary:
    path: Path
    patients: int
    invoices: int
    payments: int
    first_date: dt.date  # first day of the generated date range
    last_date: dt.date  # last day of the range (the spec's end date); no payment date is later in clean mode


PATIENT_CHUNK = 100_000
INVOICE_CHUNK = 50_000  # about 100,000 payments per chunk
PAYMENT_DUE_DAYS = 30
QUIRK_RATE = 0.004  # per quirk kind and row: about 5% of payments carry one quirk

PAYMENT_QUIRKS = (
    "amount_float_3dp",  # 10.005: half a cent, stored REAL
    "amount_integer",  # 50, stored INTEGER
    "amount_numeric_text",  # '12.50' sent as text; NUMERIC affinity stores it as REAL 12.5
    "amount_formatted_text",  # '$12.50', '12.50 USD': not a number literal, so it stays TEXT
    "amount_garbage",  # 'abc', '', 'N/A'
    "amount_zero",
    "amount_negative",
    "date_garbage",  # 'not a date', '2026-02-31', '31/12/2025', ''
    "date_future",  # after the end date
    "status_case",  # 'PAID', ' Paid', 'Refunded '
    "status_unknown",  # 'bounced', 'chargeback'
    "orphan_invoice",  # invoice_id of no invoice
    "unknown_patient",  # patient_id of no patient
)
INVOICE_QUIRKS = (
    "total_float_3dp",
    "status_case",
    "date_timestamp",  # issue_date and due_date with a time part
)

# Invoice outcomes, which decide the invoice status and its payments' statuses and amounts.
_FULL, _PARTIAL, _WRITTEN_OFF, _VOID = 0, 1, 2, 3
_OUTCOME_CUMULATIVE = np.cumsum([0.80, 0.14, 0.03, 0.03])
# Payment status probabilities (PAYMENT_STATUSES order: paid, pending, failed, refunded) per outcome.
_STATUS_CUMULATIVE = np.cumsum(
    [
        [0.90, 0.00, 0.06, 0.04],  # fully paid: the failed and refunded rows are earlier attempts
        [0.70, 0.12, 0.12, 0.06],  # partly paid, still open
        [0.60, 0.00, 0.40, 0.00],  # written off after partial payment
        [0.00, 0.00, 0.50, 0.50],  # void: whatever was paid was refunded
    ],
    axis=1,
)
_METHOD_CUMULATIVE = np.cumsum([0.50, 0.12, 0.20, 0.10])  # card, cash, insurance, ach; the rest NULL
_NULL_PATIENT_RATE = 0.05  # NULL means "the invoice's patient"
_TIMESTAMP_DATE_RATE = 0.15  # payment_date written as a full ISO timestamp
_ISSUE_WEEKDAY_WEIGHT = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.15, 0.05])  # Monday..Sunday
_WEEKEND_DEFERRAL = 0.8  # share of weekend payments the clinic books on a weekday
_MEAN_PAYMENT_DELAY_DAYS = 12.0

_DOB_FIRST = dt.date(1920, 1, 1)
_DOB_SPAN = (dt.date(2005, 12, 31) - _DOB_FIRST).days + 1
_DOB_STRIDE = 7919  # prime not dividing _DOB_SPAN: id -> id * stride mod span is one-to-one
_PATIENT_HISTORY_DAYS = 3 * 365  # patients registered up to three years before the range
_FUTURE_DAYS = 400
_DAY = 86_400


def generate_sample_database(
    path: Path | str, spec: SampleSpec = SampleSpec(), *, overwrite: bool = False
) -> SampleSummary:
    """Write a sample clinic billing database to ``path`` (atomically) and summarise it."""
    path = Path(path)
    _check_spec(spec)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.")
    end = spec.end_date or dt.datetime.now(dt.timezone.utc).date()
    start = end - dt.timedelta(days=spec.days - 1)
    invoices = (spec.payments + 1) // 2

    path.parent.mkdir(parents=True, exist_ok=True)
    # SQLite creates the file itself, so it gets the usual permissions rather than mkstemp's 0600.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        connection = sqlite3.connect(tmp, isolation_level=None)
        try:
            # Safe only because a crash leaves a temp file that is never renamed into place.
            connection.execute("PRAGMA journal_mode=OFF")
            connection.execute("PRAGMA synchronous=OFF")
            connection.executescript(SOURCE_DDL)
            _Writer(connection, spec, start, invoices).write()
            connection.executescript(RECOMMENDED_SOURCE_INDEXES)
        finally:
            connection.close()
        _publish(tmp, path, overwrite)
    finally:
        tmp.unlink(missing_ok=True)
    return SampleSummary(path, spec.patients, invoices, spec.payments, start, end)


LOCAL_DEFAULT = SampleSpec(messy=True)  # what a newcomer gets without REPORTING_SOURCE_DB: every quirk of real data


def ensure_sample_database(path: Path | str) -> SampleSummary | None:
    """The local default source: generate it at ``path`` unless it exists; the summary when it was generated now."""
    if Path(path).exists():
        return None
    try:
        return generate_sample_database(path, LOCAL_DEFAULT)
    except FileExistsError:  # another process generated it at the same moment
        return None


def _check_spec(spec: SampleSpec) -> None:
    if spec.patients < 0 or spec.payments < 0:
        raise ValueError("SampleSpec.patients and SampleSpec.payments must not be negative.")
    if spec.days < 1:
        raise ValueError("SampleSpec.days must be at least 1.")
    if spec.payments and not spec.patients:
        raise ValueError("SampleSpec.payments needs at least one patient to bill.")


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if path appeared meanwhile, unlike a rename
    except FileExistsError:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.") from None
    except OSError:  # file system without hard links
        if path.exists():
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.") from None
        os.replace(tmp, path)


class _Calendar:
    """Day numbers relative to the range's first day, and their ISO strings, via lookup tables."""

    def __init__(self, start: dt.date, days: int) -> None:
        self.start = start
        self.days = days
        self.first = -_PATIENT_HISTORY_DAYS - 1
        span = range(self.first, days + PAYMENT_DUE_DAYS + _FUTURE_DAYS + 1)
        dates = [start + dt.timedelta(days=offset) for offset in span]
        self._iso = np.array([d.isoformat() for d in dates], dtype=object)
        self._iso_t = np.array([d.isoformat() + "T" for d in dates], dtype=object)
        self._year = np.array([d.year for d in dates])
        seconds = np.arange(_DAY)
        self._clock = np.array(
            [f"{h:02d}:{m:02d}:{s:02d}" for h, m, s in zip(seconds // 3600, seconds // 60 % 60, seconds % 60)],
            dtype=object,
        )
        self.weekday = (start.weekday() + np.arange(days)) % 7
        self.end_second = days * _DAY - 1  # 23:59:59 on the end date

    def iso(self, day: np.ndarray | int) -> np.ndarray | str:
        return self._iso[day - self.first]

    def year(self, day: np.ndarray) -> np.ndarray:
        return self._year[day - self.first]

    def stamp(self, second: np.ndarray | int) -> np.ndarray | str:
        """'YYYY-MM-DDTHH:MM:SS' for seconds since the range's first midnight."""
        return self._iso_t[second // _DAY - self.first] + self._clock[second % _DAY]


class _Writer:
    """Generates and inserts the rows, chunk by chunk, from one random stream in a fixed order."""

    def __init__(self, connection: sqlite3.Connection, spec: SampleSpec, start: dt.date, invoices: int):
        self.connection = connection
        self.spec = spec
        self.invoices = invoices
        self.calendar = _Calendar(start, spec.days)
        self.rng = np.random.default_rng(spec.seed)
        # Quirks come from their own stream so messy data is the clean data plus quirks.
        self.quirk_rng = np.random.default_rng([spec.seed, 0x51A7])
        self.invoice_numbers_per_year: dict[int, int] = {}
        self.next_payment_id = 1

    def write(self) -> None:
        # Each loop drops its chunk before building the next, so only one chunk is in memory.
        for rows in self._patient_chunks():
            self._insert("patients", 11, rows)
            del rows
        for start in range(0, self.invoices, INVOICE_CHUNK):
            stop = min(start + INVOICE_CHUNK, self.invoices)
            # Payment totals per chunk add up to exactly spec.payments.
            payments = self.spec.payments * stop // self.invoices - self.spec.payments * start // self.invoices
            invoice_rows, payment_rows = self._billing_chunk(start + 1, stop + 1, payments, first_chunk=start == 0)
            self._insert("invoices", 9, invoice_rows)
            self._insert("payments", 9, payment_rows)
            del invoice_rows, payment_rows

    def _insert(self, table: str, columns: int, rows: Iterator[tuple]) -> None:
        placeholders = ", ".join("?" * columns)
        self.connection.execute("BEGIN")
        self.connection.executemany(f"INSERT INTO {table} VALUES ({placeholders})", rows)
        self.connection.execute("COMMIT")

    # -- patients -------------------------------------------------------------------------

    def _patient_chunks(self) -> Iterator[Iterator[tuple]]:
        calendar, rng = self.calendar, self.rng
        for first in range(1, self.spec.patients + 1, PATIENT_CHUNK):
            ids = np.arange(first, min(first + PATIENT_CHUNK, self.spec.patients + 1))
            created = rng.integers(-_PATIENT_HISTORY_DAYS, 0, ids.size) * _DAY + _business_seconds(rng, ids.size)
            updated = created.copy()
            changed = rng.random(ids.size) < 0.2  # address or contact changes since registration
            updated[changed] += (rng.random(changed.sum()) * (calendar.end_second - created[changed])).astype(np.int64)
            dob = [_DOB_FIRST + dt.timedelta(days=int(o)) for o in ids * _DOB_STRIDE % _DOB_SPAN]
            yield (
                (
                    pid,
                    f"Testfirst{pid:06d}",
                    f"Fakepatient{pid:06d}",
                    birth.isoformat(),
                    f"{900 + pid // 1_000_000 % 100:03d}-{pid // 10_000 % 100:02d}-{pid % 10_000:04d}",
                    f"patient{pid:06d}@example.{'org' if pid % 2 else 'com'}",
                    f"555-01{pid % 100:02d} ext. {pid}",
                    f"{pid} Example Street",
                    f"{pid // 10_000 % 500:05d}-{pid % 10_000:04d}",  # ZIP codes below 00501 are unassigned
                    c,
                    u,
                )
                for pid, birth, c, u in zip(
                    ids.tolist(), dob, calendar.stamp(created).tolist(), calendar.stamp(updated).tolist()
                )
            )

    # -- invoices and their payments ------------------------------------------------------

    def _billing_chunk(
        self, first_id: int, stop_id: int, payment_count: int, first_chunk: bool
    ) -> tuple[Iterator[tuple], Iterator[tuple]]:
        calendar, rng, days = self.calendar, self.rng, self.spec.days
        n = stop_id - first_id
        invoice_ids = np.arange(first_id, stop_id)

        # Stratified draws keep issue dates non-decreasing in invoice id, as in a real system,
        # with far fewer invoices on weekends.
        day_weight = _ISSUE_WEEKDAY_WEIGHT[calendar.weekday]
        day_cdf = np.cumsum(day_weight) / day_weight.sum()
        issue_day = np.searchsorted(day_cdf, (invoice_ids - 1 + rng.random(n)) / self.invoices, side="right")
        issue_day = np.minimum(issue_day, days - 1)
        due_day = issue_day + PAYMENT_DUE_DAYS
        invoice_created = issue_day * _DAY + _business_seconds(rng, n)
        patient = rng.integers(1, self.spec.patients + 1, n)
        total = np.round(np.exp(rng.normal(np.log(120.0), 0.8, n)).clip(15, 5_000) * 100).astype(np.int64)
        whole_dollars = rng.random(n) < 0.3
        total[whole_dollars] = total[whole_dollars] // 100 * 100

        outcome = np.searchsorted(_OUTCOME_CUMULATIVE, rng.random(n), side="right").clip(0, _VOID)
        overdue = due_day < days - 1
        outcome[(outcome == _WRITTEN_OFF) & ~overdue] = _PARTIAL

        # Payments, about two per invoice and grouped by invoice. An invoice gets fewer the less
        # of the payment-delay distribution fits before the end date, which keeps the daily
        # payment volume flat up to the end instead of piling up recent invoices' payments.
        reach = -np.expm1(-(days - issue_day) / _MEAN_PAYMENT_DELAY_DAYS)
        owner_cdf = np.cumsum(reach) / reach.sum()
        owner_draw = np.searchsorted(owner_cdf, rng.random(payment_count), side="right").clip(0, n - 1)
        counts = np.bincount(owner_draw, minlength=n)
        owner = np.repeat(np.arange(n), counts)  # chunk-local invoice index of each payment
        group_start = np.cumsum(counts) - counts
        m = owner.size

        status = (rng.random(m)[:, None] > _STATUS_CUMULATIVE[outcome[owner]]).sum(axis=1).clip(0, 3)
        paid = status == 0
        paid_per_invoice = np.bincount(owner, weights=paid, minlength=n)
        no_paid_full = (outcome == _FULL) & (counts > 0) & (paid_per_invoice == 0)
        status[group_start[no_paid_full] + counts[no_paid_full] - 1] = 0
        paid = status == 0
        outcome[(outcome == _FULL) & (counts == 0)] = _PARTIAL  # nothing paid yet: still open

        day = self._payment_days(issue_day[owner], rng)
        day = day[np.lexsort((day, owner))]  # an invoice's payments in date order; the last one settles it
        second = day * _DAY + _business_seconds(rng, m)
        same_day = day == issue_day[owner]
        second[same_day] = np.maximum(second[same_day], invoice_created[owner[same_day]] + 60)
        second = np.minimum(second, calendar.end_second)

        amount = self._payment_amounts(owner, paid, total, outcome, rng)

        delay = np.zeros(m, dtype=np.int64)
        late_paid = paid & (rng.random(m) < 0.15)  # settlement confirmed later
        delay[late_paid] = rng.integers(60, 2 * _DAY, late_paid.sum())
        failed = status == 2
        delay[failed] = rng.integers(1, 600, failed.sum())
        refunded = status == 3
        delay[refunded] = rng.integers(_DAY, 30 * _DAY, refunded.sum())
        updated = np.minimum(second + delay, calendar.end_second)

        payment_patient = patient[owner]
        method = np.searchsorted(_METHOD_CUMULATIVE, rng.random(m), side="right")
        timestamp_date = rng.random(m) < _TIMESTAMP_DATE_RATE
        null_patient = rng.random(m) < _NULL_PATIENT_RATE

        # Invoice status and the time it last changed.
        invoice_status = np.full(n, INVOICE_STATUSES.index("open"))
        invoice_status[outcome == _FULL] = INVOICE_STATUSES.index("paid")
        invoice_status[outcome == _WRITTEN_OFF] = INVOICE_STATUSES.index("written_off")
        invoice_status[outcome == _VOID] = INVOICE_STATUSES.index("void")
        invoice_updated = invoice_created.copy()
        np.maximum.at(invoice_updated, owner, updated)
        written_off = outcome == _WRITTEN_OFF
        invoice_updated[written_off] = np.maximum(
            invoice_updated[written_off],
            due_day[written_off] * _DAY + rng.integers(30 * _DAY, 90 * _DAY, written_off.sum()),
        )
        void = outcome == _VOID
        invoice_updated[void] = np.maximum(
            invoice_updated[void], invoice_created[void] + rng.integers(3_600, 7 * _DAY, void.sum())
        )
        invoice_updated = np.minimum(invoice_updated, calendar.end_second)

        # Real systems number payments in the order they are recorded.
        order = np.argsort(second, kind="stable")
        owner, day, second, updated, status, amount = (a[order] for a in (owner, day, second, updated, status, amount))
        payment_patient, method, timestamp_date, null_patient = (
            a[order] for a in (payment_patient, method, timestamp_date, null_patient)
        )

        payment_ids = np.arange(self.next_payment_id, self.next_payment_id + m)
        self.next_payment_id += m
        payment_stamp = calendar.stamp(second)
        payment_date = calendar.iso(day)
        payment_date[timestamp_date] = payment_stamp[timestamp_date]
        patient_column = payment_patient.astype(object)
        patient_column[null_patient] = None
        method_column = np.array([*PAYMENT_METHODS, None], dtype=object)[method]

        payment_columns = [
            payment_ids.tolist(),
            (first_id + owner).tolist(),
            patient_column.tolist(),
            payment_date.tolist(),
            (amount / 100).tolist(),  # same stored value as the text '123.45' under NUMERIC affinity
            np.array(PAYMENT_STATUSES, dtype=object)[status].tolist(),
            method_column.tolist(),
            payment_stamp.tolist(),
            calendar.stamp(updated).tolist(),
        ]
        invoice_columns = [
            invoice_ids.tolist(),
            self._invoice_numbers(calendar.year(issue_day)),
            patient.tolist(),
            calendar.iso(issue_day).tolist(),
            calendar.iso(due_day).tolist(),
            (total / 100).tolist(),
            np.array(INVOICE_STATUSES, dtype=object)[invoice_status].tolist(),
            calendar.stamp(invoice_created).tolist(),
            calendar.stamp(invoice_updated).tolist(),
        ]
        if self.spec.messy:
            self._add_payment_quirks(payment_columns, amount, day, first_chunk)
            self._add_invoice_quirks(invoice_columns, total, issue_day, invoice_created, first_chunk)
        return zip(*invoice_columns), zip(*payment_columns)

    def _payment_days(self, issue_day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Payment days after the issue day, never after the end date, mostly on weekdays."""
        days = self.spec.days
        # Exponential delay truncated to the days left before the end date (inverse CDF).
        reach = -np.expm1(-(days - issue_day) / _MEAN_PAYMENT_DELAY_DAYS)
        delay = -_MEAN_PAYMENT_DELAY_DAYS * np.log1p(-rng.random(issue_day.size) * reach)
        day = np.minimum(issue_day + delay.astype(np.int64), days - 1)
        # Most weekend payments are booked on a weekday of the following week, or of the same
        # week where the following one is after the end date.
        weekday = self.calendar.weekday[day]
        deferred = (weekday >= 5) & (rng.random(day.size) < _WEEKEND_DEFERRAL)
        same_week = day - weekday + rng.integers(0, 5, day.size)
        next_week = same_week + 7
        to_next_week = deferred & (next_week <= days - 1)
        to_same_week = deferred & ~to_next_week & (same_week >= issue_day)
        day[to_next_week] = next_week[to_next_week]
        day[to_same_week] = same_week[to_same_week]
        return day

    @staticmethod
    def _payment_amounts(
        owner: np.ndarray, paid: np.ndarray, total: np.ndarray, outcome: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Amounts in cents: an invoice's paid payments add up to its total, or to a part of it."""
        n = total.size
        weight = rng.uniform(0.3, 1.0, owner.size)
        target = np.where(outcome == _FULL, total, np.floor(total * rng.uniform(0.1, 0.9, n)).astype(np.int64))
        paid_weight = np.bincount(owner, weights=weight * paid, minlength=n)
        all_weight = np.bincount(owner, weights=weight, minlength=n)
        share = weight / np.where(paid, paid_weight[owner], all_weight[owner])
        amount = np.floor(np.where(paid, target[owner], total[owner]) * share).astype(np.int64)
        amount = np.maximum(amount, 1)
        # The last paid payment of each invoice takes the rounding remainder.
        paid_rows = np.flatnonzero(paid)
        if paid_rows.size:
            paid_owner = owner[paid_rows]
            last_paid = paid_rows[np.append(paid_owner[1:] != paid_owner[:-1], True)]
            paid_sum = np.bincount(paid_owner, weights=amount[paid_rows], minlength=n).astype(np.int64)
            amount[last_paid] += (target - paid_sum)[owner[last_paid]]
        return np.maximum(amount, 1)

    def _invoice_numbers(self, year: np.ndarray) -> list[str]:
        """INV-YYYY-NNNNNN, numbered from 1 within each issue year (ids are in issue-date order)."""
        numbers = np.empty(year.size, dtype=np.int64)
        for y in np.unique(year).tolist():
            earlier = self.invoice_numbers_per_year.get(y, 0)
            rows = year == y
            numbers[rows] = earlier + np.arange(1, rows.sum() + 1)
            self.invoice_numbers_per_year[y] = earlier + int(rows.sum())
        return [f"INV-{y}-{k:06d}" for y, k in zip(year.tolist(), numbers.tolist())]

    # -- messy mode -----------------------------------------------------------------------

    def _pick(self, options: Sequence[object]) -> object:
        return options[int(self.quirk_rng.integers(len(options)))]

    def _quirk_rows(self, size: int, kinds: Sequence[str], first_chunk: bool) -> dict[str, list[int]]:
        """Rows to spoil per quirk kind: each row at most one kind, every kind at least once overall."""
        kind = (self.quirk_rng.random(size) // QUIRK_RATE).astype(np.int64)
        kind[kind >= len(kinds)] = -1
        if first_chunk:
            guaranteed = self.quirk_rng.choice(size, size=min(len(kinds), size), replace=False)
            kind[guaranteed] = np.arange(guaranteed.size)
        return {name: np.flatnonzero(kind == k).tolist() for k, name in enumerate(kinds)}

    def _add_payment_quirks(
        self, columns: list[list], cents: np.ndarray, day: np.ndarray, first_chunk: bool
    ) -> None:
        ids, invoice, patient, payment_date, amount, status = columns[:6]
        pick = self._pick
        calendar = self.calendar
        for name, rows in self._quirk_rows(len(ids), PAYMENT_QUIRKS, first_chunk).items():
            for i in rows:
                c = int(cents[i])
                if name == "amount_float_3dp":
                    amount[i] = float(f"{c // 100}.{c % 100:02d}5")
                elif name == "amount_integer":
                    amount[i] = max(1, round(c / 100))
                elif name == "amount_numeric_text":
                    amount[i] = f"{c // 100}.{c % 100:02d}"
                elif name == "amount_formatted_text":
                    amount[i] = pick([f"${c // 100}.{c % 100:02d}", f"{c // 100}.{c % 100:02d} USD"])
                elif name == "amount_garbage":
                    amount[i] = pick(["abc", "", "N/A", "12..50"])
                elif name == "amount_zero":
                    amount[i] = pick([0, 0.0, "0.00"])
                elif name == "amount_negative":
                    amount[i] = -c / 100
                elif name == "date_garbage":
                    actual = calendar.start + dt.timedelta(days=int(day[i]))
                    payment_date[i] = pick(["not a date", f"{actual.year}-02-31", actual.strftime("%d/%m/%Y"), ""])
                elif name == "date_future":
                    future = calendar.days - 1 + int(self.quirk_rng.integers(1, _FUTURE_DAYS))
                    payment_date[i] = calendar.iso(future)
                elif name == "status_case":
                    s = status[i]
                    status[i] = pick([s.upper(), f" {s.title()}", f"{s.title()} ", s.title()])
                elif name == "status_unknown":
                    status[i] = pick(["bounced", "chargeback", "cancelled"])
                elif name == "orphan_invoice":
                    invoice[i] = self.invoices + int(self.quirk_rng.integers(1, 1_000))
                elif name == "unknown_patient":
                    patient[i] = self.spec.patients + int(self.quirk_rng.integers(1, 1_000))

    def _add_invoice_quirks(
        self, columns: list[list], cents: np.ndarray, issue_day: np.ndarray, created: np.ndarray, first_chunk: bool
    ) -> None:
        issue_date, due_date, total, status = columns[3], columns[4], columns[5], columns[6]
        pick = self._pick
        for name, rows in self._quirk_rows(len(total), INVOICE_QUIRKS, first_chunk).items():
            for i in rows:
                if name == "total_float_3dp":
                    c = int(cents[i])
                    total[i] = float(f"{c // 100}.{c % 100:02d}5")
                elif name == "status_case":
                    s = status[i]
                    status[i] = pick([s.upper(), f" {s.title()}", f"{s.title()} "])
                elif name == "date_timestamp":
                    clock = int(created[i]) % _DAY
                    issue_date[i] = self.calendar.stamp(int(issue_day[i]) * _DAY + clock)
                    due_date[i] = self.calendar.stamp((int(issue_day[i]) + PAYMENT_DUE_DAYS) * _DAY + clock)


def _business_seconds(rng: np.random.Generator, size: int) -> np.ndarray:
    """Seconds after midnight, clustered in clinic hours."""
    return np.clip(rng.normal(13.5 * 3600, 3 * 3600, size), 7 * 3600, 21 * 3600 - 1).astype(np.int64)


__all__ = ["SampleSpec", "SampleSummary", "generate_sample_database", "PAYMENT_QUIRKS", "INVOICE_QUIRKS"]
