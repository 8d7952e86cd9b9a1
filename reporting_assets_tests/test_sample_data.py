"""The sample clinic database: SPEC section 2's contract, deterministic, clean or messy on demand."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from reporting_assets.source.contract import (
    INVOICE_STATUSES,
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    PII_COLUMNS,
    SOURCE_DDL,
)
from reporting_assets.source.sample_data import SampleSpec, generate_sample_database

END = dt.date(2026, 3, 15)
END_OF_DAY = f"{END.isoformat()}T23:59:59"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?$")
TABLES = ("patients", "invoices", "payments")


def _query(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchall()


def _table(path: Path, table: str) -> list[dict]:
    with closing(sqlite3.connect(path)) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(f"SELECT * FROM {table} ORDER BY id")]


def _contents_hash(path: Path) -> str:
    digest = hashlib.sha256()
    for table in TABLES:
        for row in _query(path, f"SELECT * FROM {table} ORDER BY id"):
            digest.update(repr(row).encode())  # repr keeps 12.5 apart from '12.5' and 12
    return digest.hexdigest()


def _iso_day(value: object) -> dt.date | None:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@pytest.fixture(scope="module")
def clean_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clean") / "clinic.db"
    generate_sample_database(path, SampleSpec(end_date=END))
    return path


@pytest.fixture(scope="module")
def messy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("messy") / "clinic.db"
    generate_sample_database(path, SampleSpec(end_date=END, messy=True))
    return path


def test_tables_and_columns_are_exactly_the_contract(clean_db: Path) -> None:
    with closing(sqlite3.connect(":memory:")) as reference:
        reference.executescript(SOURCE_DDL)
        expected = {t: reference.execute(f"PRAGMA table_info({t})").fetchall() for t in TABLES}
    tables = {name for (name,) in _query(clean_db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == set(TABLES)
    for table in TABLES:
        assert _query(clean_db, f"PRAGMA table_info({table})") == expected[table]
    indexes = {name for (name,) in _query(clean_db, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"idx_payments_updated_at", "idx_payments_payment_date", "idx_invoices_updated_at"} <= indexes


def test_row_counts_and_summary_match_the_spec(tmp_path: Path) -> None:
    spec = SampleSpec(patients=300, payments=1_001, days=60, end_date=END)
    summary = generate_sample_database(tmp_path / "clinic.db", spec)
    counts = {t: _query(summary.path, f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}
    assert counts == {"patients": 300, "invoices": 501, "payments": 1_001}
    assert (summary.patients, summary.invoices, summary.payments) == (300, 501, 1_001)
    assert (summary.first_date, summary.last_date) == (END - dt.timedelta(days=59), END)
    assert summary.path == tmp_path / "clinic.db"


@pytest.mark.parametrize("messy", [False, True], ids=["clean", "messy"])
def test_same_seed_gives_identical_contents_and_another_seed_differs(tmp_path: Path, messy: bool) -> None:
    spec = SampleSpec(patients=200, payments=3_000, end_date=END, messy=messy)
    first = generate_sample_database(tmp_path / "a.db", spec).path
    again = generate_sample_database(tmp_path / "b.db", spec).path
    other = generate_sample_database(tmp_path / "c.db", replace(spec, seed=spec.seed + 1)).path
    assert _contents_hash(first) == _contents_hash(again)
    assert _contents_hash(first) != _contents_hash(other)


def test_clean_payments_are_all_valid(clean_db: Path) -> None:
    invoices = {row["id"]: row for row in _table(clean_db, "invoices")}
    patients = {row["id"] for row in _table(clean_db, "patients")}
    payments = _table(clean_db, "payments")
    assert payments
    for p in payments:
        amount = p["amount"]
        assert type(amount) in (int, float) and amount > 0 and round(amount, 2) == amount, p
        assert p["status"] in PAYMENT_STATUSES, p
        assert p["method"] in (*PAYMENT_METHODS, None), p
        assert p["invoice_id"] in invoices, p
        assert p["patient_id"] is None or p["patient_id"] in patients, p
        paid_on = _iso_day(p["payment_date"])
        assert paid_on is not None and paid_on <= END, p
        assert paid_on >= dt.date.fromisoformat(invoices[p["invoice_id"]]["issue_date"]), p
        assert ISO_DATE.match(p["created_at"]) and p["created_at"] <= p["updated_at"] <= END_OF_DAY, p
    # Both spellings of a payment date and the NULL patient occur, but only as a minority.
    assert 0 < sum(len(p["payment_date"]) > 10 for p in payments) < len(payments) / 4
    assert 0 < sum(p["patient_id"] is None for p in payments) < len(payments) / 10
    assert len({p["id"] for p in payments}) == len(payments)


def test_clean_invoices_are_valid_and_their_status_matches_their_payments(clean_db: Path) -> None:
    invoices = _table(clean_db, "invoices")
    paid_cents = Counter()
    for p in _table(clean_db, "payments"):
        if p["status"] == "paid":
            paid_cents[p["invoice_id"]] += round(p["amount"] * 100)
    assert len({i["invoice_number"] for i in invoices}) == len(invoices)
    for i in invoices:
        assert re.fullmatch(r"INV-(\d{4})-\d{6}", i["invoice_number"]).group(1) == i["issue_date"][:4], i
        issued = dt.date.fromisoformat(i["issue_date"])
        assert END - dt.timedelta(days=119) <= issued <= END, i
        assert dt.date.fromisoformat(i["due_date"]) == issued + dt.timedelta(days=30), i
        total = i["total_amount"]
        assert type(total) in (int, float) and total > 0 and round(total, 2) == total, i
        assert i["status"] in INVOICE_STATUSES, i
        assert i["created_at"] <= i["updated_at"] <= END_OF_DAY, i
        fully_paid = paid_cents[i["id"]] == round(total * 100)
        assert (i["status"] == "paid") == fully_paid, i
        if i["status"] == "void":
            assert paid_cents[i["id"]] == 0, i
    statuses = Counter(i["status"] for i in invoices)
    assert statuses["paid"] > len(invoices) / 2
    assert statuses["open"] > statuses["void"] > 0 and statuses["written_off"] > 0
    overdue = [i for i in invoices if i["status"] == "open" and i["due_date"] < END.isoformat()]
    assert overdue


def test_patient_details_are_obviously_fake_and_distinct(clean_db: Path) -> None:
    patients = _table(clean_db, "patients")
    for column in PII_COLUMNS:
        assert len({p[column] for p in patients}) == len(patients), column
    for p in patients:
        assert p["first_name"].startswith("Testfirst") and p["last_name"].startswith("Fakepatient"), p
        assert p["ssn"][0] == "9" and p["email"].endswith(("@example.com", "@example.org")), p
        assert p["phone"].startswith("555-01") and p["address"].endswith("Example Street"), p
        assert int(p["zip_code"][:5]) < 501, p  # 00501 is the lowest ZIP code in use
        assert dt.date.fromisoformat(p["date_of_birth"]) < END, p
        assert p["created_at"] <= p["updated_at"] <= END_OF_DAY, p


def test_messy_mode_contains_every_quirk(messy_db: Path) -> None:
    invoice_ids = {i for (i,) in _query(messy_db, "SELECT id FROM invoices")}
    patient_ids = {i for (i,) in _query(messy_db, "SELECT id FROM patients")}
    payments = _table(messy_db, "payments")
    amounts = [p["amount"] for p in payments]
    statuses = [p["status"] for p in payments]
    days = [_iso_day(p["payment_date"]) for p in payments]

    assert any(type(a) is float and len(repr(a).split(".")[1]) == 3 for a in amounts)  # e.g. 10.005
    assert any(type(a) is str and _decimal(a) is None and any(c.isdigit() for c in a) for a in amounts)  # '$12.50'
    assert any(type(a) is str and not any(c.isdigit() for c in a) for a in amounts)  # 'abc', ''
    assert any(type(a) is int for a in amounts)
    assert any(a == 0 for a in amounts if type(a) is not str)
    assert any(a < 0 for a in amounts if type(a) is not str)
    assert any(d is None for d in days)
    # garbage dates of each kind: text, an impossible day, another format
    assert "not a date" in {p["payment_date"] for p in payments}
    assert any(re.fullmatch(r"\d{4}-02-31", p["payment_date"]) for p in payments)
    assert any(re.fullmatch(r"\d{2}/\d{2}/\d{4}", p["payment_date"]) for p in payments)
    assert any(d is not None and d > END for d in days)
    assert any(s != s.lower() and s.strip().lower() in PAYMENT_STATUSES for s in statuses)
    assert any(s.strip().lower() not in PAYMENT_STATUSES for s in statuses)
    assert any(p["invoice_id"] not in invoice_ids for p in payments)
    assert any(p["patient_id"] is not None and p["patient_id"] not in patient_ids for p in payments)
    assert any(p["patient_id"] is None for p in payments)


def test_messy_mode_is_the_clean_data_with_a_few_percent_spoiled(clean_db: Path, messy_db: Path) -> None:
    clean = _table(clean_db, "payments")
    messy = _table(messy_db, "payments")
    assert len(clean) == len(messy)
    changed = sum(c != m for c, m in zip(clean, messy))
    assert 0.01 * len(clean) < changed < 0.10 * len(clean)
    assert _table(clean_db, "patients") == _table(messy_db, "patients")


def test_weekends_have_fewer_payments_than_weekdays(clean_db: Path) -> None:
    per_day = Counter(_iso_day(d) for (d,) in _query(clean_db, "SELECT payment_date FROM payments"))
    calendar = [END - dt.timedelta(days=k) for k in range(120)]
    weekend = [per_day[d] for d in calendar if d.weekday() >= 5]
    weekday = [per_day[d] for d in calendar if d.weekday() < 5]
    assert sum(weekend) / len(weekend) < 0.5 * sum(weekday) / len(weekday)


def test_chunked_generation_keeps_ids_and_invoice_numbers_consistent(tmp_path: Path) -> None:
    summary = generate_sample_database(tmp_path / "clinic.db", SampleSpec(payments=200_000, end_date=END))
    ((payments, first, last, orphans),) = _query(
        summary.path,
        "SELECT count(*), min(id), max(id), sum(invoice_id NOT IN (SELECT id FROM invoices)) FROM payments",
    )
    assert (payments, first, last, orphans) == (200_000, 1, 200_000, 0)
    ((invoices, numbers, last_invoice),) = _query(
        summary.path, "SELECT count(*), count(DISTINCT invoice_number), max(id) FROM invoices"
    )
    assert invoices == numbers == last_invoice == 100_000
    # Every invoice chunk got payments up to the end of the range.
    ((latest,),) = _query(summary.path, "SELECT max(substr(payment_date, 1, 10)) FROM payments")
    assert latest == END.isoformat()


def test_an_existing_file_is_not_overwritten_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "clinic.db"
    path.write_text("the application's real data")
    spec = SampleSpec(patients=10, payments=20, end_date=END)
    with pytest.raises(FileExistsError, match="already exists"):
        generate_sample_database(path, spec)
    assert path.read_text() == "the application's real data"
    generate_sample_database(path, spec, overwrite=True)
    assert _query(path, "SELECT count(*) FROM payments") == [(20,)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clinic.db"]  # no temporary file left behind
