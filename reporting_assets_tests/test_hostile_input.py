"""Hostile billing data: whatever the application's SQLite file holds, every run succeeds and no row is lost.

Property tests generate sources with wrong types, NaN/inf, amounts beyond NUMERIC(10,2), zero and
negative amounts, SQL-injection strings, control characters and long unicode in every text column,
far-past/future and garbage dates, missing invoices and patients, next to rows valid in odd forms.
After the daily assets (over RANGE_START..TODAY) and the current-state assets run, every source
payment is staged or quarantined (or dated before the range), every invoice is staged or
quarantined, and nothing is in both. The one run failure allowed is revenue_metrics refusing, by
rule name, a day whose valid payments add up to more than its DECIMAL(10,2) can hold.

By default each property runs 25 examples; HYPOTHESIS_PROFILE=slow runs many more:

    HYPOTHESIS_PROFILE=slow .venv/bin/python -m pytest reporting_assets_tests/test_hostile_input.py

Then an unreadable source (locked by the application, or cut short, even inside its last page)
fails the run with one sentence and leaves every table as it was, and invoice numbers PostgreSQL
could not store (NUL, over 50 characters) are quarantined, while a bare carriage return is data.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import uuid
from decimal import Decimal

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporting_assets.defs.rule_checks import SCHEMA_CHECK
from reporting_assets.defs.staging.assets import ACCOUNTED_CHECK
from reporting_assets.schemas import INVALID_INVOICE_NUMBER
from reporting_assets_tests.conftest import (
    TODAY,
    fake_patient,
    make_resources,
    materialize_current,
    materialize_days,
    query,
    write_source,
)

# one database serves every example of a property: these tables are emptied between examples
# (audit_log refuses TRUNCATE by design, so its rows simply accumulate)
RESET_TABLES = (
    "reporting.patient_payment_history",
    "reporting.revenue_metrics",
    "reporting.outstanding_payments",
    "reporting.quarantine",
    "staging.payments",
    "staging.invoices",
)
ALL_TABLES = (*RESET_TABLES, "reporting.audit_log")
RANGE_START = TODAY - dt.timedelta(days=6)
DAYS_BEYOND_NUMERIC_10_2 = (
    "SELECT payment_date FROM reporting.patient_payment_history WHERE payment_status = 'paid' GROUP BY 1 HAVING sum(amount) > 99999999.99"
)
PATIENT_IDS = (1, 2, 3)

settings.register_profile(
    "hostile-default",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("slow", settings.get_profile("hostile-default"), max_examples=400)
HOSTILE = settings.get_profile("slow" if os.environ.get("HYPOTHESIS_PROFILE") == "slow" else "hostile-default")

# ------------------------------------------------------------------ strategies
INJECTION = [
    "'; DROP TABLE reporting.audit_log; --",
    "Robert'); DROP TABLE patients;--",
    "1' OR '1'='1",
    "$$; SELECT pg_sleep(10); $$",
    "\\.",  # end-of-data marker of COPY text format
    "\\N",  # NULL in COPY text format
    '","',
    "E'\\x41'",
    "%s %(x)s {0}",
    "${jndi:ldap://example.invalid/a}",
]
# text PostgreSQL can store: no NUL and no lone surrogates (hostile_text adds NUL and control characters)
pg_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80)
long_unicode = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00", min_codepoint=0x80), min_size=51, max_size=400)
# C0 controls with NUL, DEL and the C1 controls: PostgreSQL refuses NUL, COPY and CSV treat others specially
control_char = st.one_of(st.characters(min_codepoint=0, max_codepoint=0x1F), st.characters(min_codepoint=0x7F, max_codepoint=0x9F))
control_text = st.text(control_char, min_size=1, max_size=10)
with_nul = st.tuples(pg_text, pg_text).map(lambda parts: f"{parts[0]}\x00{parts[1]}")
hostile_text = st.one_of(st.sampled_from(INJECTION), pg_text, long_unicode, control_text, with_nul, st.just(""))

in_range_day = st.dates(min_value=RANGE_START, max_value=TODAY)
future_day = st.dates(min_value=TODAY + dt.timedelta(days=1), max_value=dt.date(9999, 12, 31))
past_day = st.dates(min_value=dt.date(1, 1, 1), max_value=RANGE_START - dt.timedelta(days=1))
clock = st.times().map(lambda t: t.replace(microsecond=0).isoformat())


def date_forms(days: st.SearchStrategy[dt.date]) -> st.SearchStrategy[str]:
    return st.one_of(
        days.map(dt.date.isoformat),
        st.tuples(days, clock).map(lambda d: f"{d[0].isoformat()}T{d[1]}"),
        st.tuples(days, clock).map(lambda d: f"{d[0].isoformat()} {d[1]}"),
        st.tuples(days, clock, st.sampled_from(["Z", "+14:00", "-12:00", ".123456"])).map(lambda d: f"{d[0].isoformat()}T{d[1]}{d[2]}"),
    )


garbage_date = st.one_of(
    st.sampled_from(["", "not a date", "2026-02-30", "2026-13-01", "20260315", "15/03/2026", "2026-03-15 ", " 2026-03-15",
                     "2026-03-15\n", "2026-03-15T", "2026-3-15", "+2026-03-15", "٢٠٢٦-٠٣-١٥", "2026-03-15; DROP TABLE x"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),  # TEXT affinity stores it as text
    st.binary(max_size=12),
    hostile_text,
)
payment_date = st.one_of(date_forms(in_range_day), date_forms(future_day), date_forms(past_day), garbage_date)

amount = st.one_of(
    st.sampled_from([
        0, 0.0, "0", "-0", "0.00", "0.004", "0.005", -0.01, -5, "12.50", " 12.50 ", "$12.50", "1,000.00", "12.5.0",
        "NaN", "nan", "sNaN", "inf", "-Infinity", 1e12, "1e12", "99999999999.99", 99999999.99, 99999999.995, "99999999.995",
        "1E+999999999", "1e-999999999", "１２.５０", 10.005, 2.675, 0.1 + 0.2,
    ]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),  # SQLite stores NaN as NULL, which NOT NULL refuses: NaN comes as text above
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.binary(max_size=12),
    hostile_text,
)
payment_status = st.one_of(
    st.sampled_from(["paid", "PAID", " Paid", "Paid ", "pending", "failed", "refunded", "REFUNDED", "bounced", "paid\x00", "pa id"]),
    st.integers(min_value=-5, max_value=5),
    st.binary(max_size=6),
    hostile_text,
)
invoice_status = st.one_of(
    st.sampled_from(["open", "OPEN", " Open", "paid", "void", "written_off", "WRITTEN_OFF", "closed"]),
    st.integers(min_value=-5, max_value=5),
    hostile_text,
)
invoice_number = st.one_of(
    st.integers(min_value=1, max_value=10**6).map(lambda n: f"INV-2026-{n:06d}"),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),  # TEXT affinity: stored as its decimal text
    st.binary(min_size=1, max_size=8),
    # no carriage return: see test_a_carriage_return_in_an_invoice_number_is_data_not_a_line_break
    hostile_text.map(lambda text: text.replace("\r", "")),
)
any_reference = st.one_of(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(allow_nan=False), pg_text, st.binary(max_size=4))


# rows that pass every rule (in odd but valid forms), so accepted rows and their sums are exercised too
plausible_amount = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2).map(str),
    st.floats(min_value=0.005, max_value=99999999.99),
    st.integers(min_value=1, max_value=99999999),
    st.sampled_from([10.005, 2.675, "0.005", " 12.50 ", 99999999.99, "99999999.99"]),
)
valid_payment_status = st.sampled_from(["paid", "PAID", " Paid", "Paid ", "pending", "failed", "refunded", "REFUNDED"])
valid_invoice_status = st.sampled_from(["open", "OPEN", " Open", "paid", "void", "written_off"])
invoice_day = st.dates(min_value=dt.date(2025, 1, 1), max_value=TODAY)


@st.composite
def billing_sources(draw) -> dict[str, list[tuple]]:
    """patients 1..3 (hostile PII text), up to 6 invoices and up to 15 payments, in write_source's row shapes.

    Each invoice and payment is either hostile in every column or valid in every column (odd forms included).
    """
    patients = [
        (pid, *(draw(st.one_of(hostile_text, st.just(v))) for v in fake_patient(pid)[1:]))
        for pid in PATIENT_IDS
    ]
    invoice_ids = draw(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=6, unique=True))
    # SQLite keeps invoice_number UNIQUE; the platform reads a blob by its repr, so keep str() forms apart too
    numbers = draw(st.lists(invoice_number, min_size=len(invoice_ids), max_size=len(invoice_ids), unique_by=str))
    patient_ref = st.one_of(st.none(), st.sampled_from(PATIENT_IDS), any_reference)
    invoices = []
    for iid, number in zip(invoice_ids, numbers):
        if draw(st.booleans()):
            row = (iid, number, draw(st.sampled_from(PATIENT_IDS)), draw(date_forms(invoice_day)), draw(date_forms(invoice_day)), draw(plausible_amount), draw(valid_invoice_status))
        else:
            row = (iid, number, draw(patient_ref), draw(payment_date), draw(payment_date), draw(amount), draw(invoice_status))
        invoices.append(row)
    # payments may point at any invoice, those whose number PostgreSQL cannot store (NUL, over 50
    # characters) included: see test_an_invoice_number_postgres_cannot_store_quarantines_the_invoice_and_its_payments
    payable = list(invoice_ids)
    known_invoice = st.one_of(st.none(), st.sampled_from(payable)) if payable else st.none()
    invoice_ref = st.one_of(known_invoice, any_reference)
    payment_ids = draw(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=15, unique=True))
    payments = []
    for pid in payment_ids:
        method = draw(st.one_of(st.none(), hostile_text))
        if draw(st.booleans()):
            row = (pid, draw(known_invoice), draw(st.one_of(st.sampled_from(PATIENT_IDS), st.none())), draw(date_forms(in_range_day)), draw(plausible_amount), draw(valid_payment_status), method)
        else:
            row = (pid, draw(invoice_ref), draw(patient_ref), draw(payment_date), draw(amount), draw(payment_status), method)
        payments.append(row)
    return {"patients": patients, "invoices": invoices, "payments": payments}


# ------------------------------------------------------------------ helpers
def reset(url: str) -> None:
    query(url, f"TRUNCATE {', '.join(RESET_TABLES)}")


def ids(url: str, statement: str) -> set[int]:
    return {row[0] for row in query(url, statement)}


def dated_before_range(value: object) -> bool:
    """A well-formed date before RANGE_START: its partition is not materialized, so it is in no table."""
    match = re.match(r"([0-9]{4}-[0-9]{2}-[0-9]{2})", value) if isinstance(value, str) else None
    if not match:
        return False
    try:
        return dt.date.fromisoformat(match.group(1)) < RANGE_START
    except ValueError:
        return False


def table_contents(url: str) -> dict[str, list[tuple]]:
    return {table: sorted(query(url, f"SELECT * FROM {table}"), key=repr) for table in ALL_TABLES}


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """The failed step's error with its causes: the sentence a user reads in the UI."""
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    error, parts = failure.step_failure_data.error, []
    while error is not None:
        parts.append(error.message.strip())
        error = error.cause
    return "\n".join(parts)


# ------------------------------------------------------------------ properties
@HOSTILE
@given(source=billing_sources())
def test_every_hostile_row_is_staged_or_quarantined_and_the_run_succeeds(database_url, tmp_path, source):
    reset(database_url)
    path = write_source(tmp_path / f"clinic-{uuid.uuid4().hex}.db", **source)
    try:
        resources = make_resources(database_url, path, tmp_path / "home")
        daily = materialize_days(resources, RANGE_START.isoformat(), TODAY.isoformat(), raise_on_error=False)
        current = materialize_current(resources)
    finally:
        path.unlink()
    assert current.success  # no CHECK constraint, COPY or type error anywhere
    failed = {e.step_key for e in daily.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE}
    if failed:
        # the one legitimate failure: valid payments of a day add up to more than revenue_metrics'
        # DECIMAL(10,2) can hold; the run says so by rule name and leaves the table as it was
        assert failed == {"revenue_metrics"}, failure_text(daily)
        assert "total_revenue: must be a NUMERIC(10,2) value" in failure_text(daily)
        assert query(database_url, DAYS_BEYOND_NUMERIC_10_2), "revenue_metrics failed without an overflowing day"
        assert query(database_url, "SELECT count(*) FROM reporting.revenue_metrics") == [(0,)]
    else:
        assert not query(database_url, DAYS_BEYOND_NUMERIC_10_2)
        assert query(database_url, "SELECT count(*) FROM reporting.revenue_metrics") == [(7,)]

    staged = ids(database_url, "SELECT source_payment_id FROM staging.payments")
    quarantined = ids(database_url, "SELECT source_id FROM reporting.quarantine WHERE source_table = 'payments'")
    history = ids(database_url, "SELECT source_payment_id FROM reporting.patient_payment_history")
    expected = {p[0] for p in source["payments"] if not dated_before_range(p[3])}
    assert expected <= staged | quarantined, "a payment vanished"
    assert not staged & quarantined, "a payment was both staged and quarantined"
    assert history == staged
    accounted = [e for e in daily.get_asset_check_evaluations() if e.check_name == ACCOUNTED_CHECK]
    assert accounted and all(e.passed for e in accounted)

    staged_invoices = ids(database_url, "SELECT source_invoice_id FROM staging.invoices")
    quarantined_invoices = ids(database_url, "SELECT source_id FROM reporting.quarantine WHERE source_table = 'invoices'")
    assert staged_invoices | quarantined_invoices == {i[0] for i in source["invoices"]}
    assert not staged_invoices & quarantined_invoices
    outstanding = {r[0] for r in query(database_url, "SELECT invoice_id FROM reporting.outstanding_payments")}
    assert outstanding <= {r[0] for r in query(database_url, "SELECT invoice_id FROM staging.invoices")}


def test_the_largest_finite_floats_are_quarantined_not_fatal(database_url, tmp_path):
    """Found by the slow profile: amount * 100 overflowed to inf in parsing.parse_amounts and crashed both staging assets."""
    path = write_source(
        tmp_path / "clinic.db",
        [fake_patient(1)],
        [(10, "INV-2026-000010", 1, "2026-03-14", "2026-03-14T13:39:18", -1.7976931348623157e308, "open")],
        [(100, None, 1, TODAY.isoformat(), 1.7976931348623157e308, "paid", None), (101, None, 1, TODAY.isoformat(), 1e104, "paid", None)],
    )
    resources = make_resources(database_url, path, tmp_path / "home")
    assert materialize_days(resources, RANGE_START.isoformat(), TODAY.isoformat()).success
    assert materialize_current(resources).success
    assert ids(database_url, "SELECT source_id FROM reporting.quarantine") == {10, 100, 101}


def test_a_day_whose_revenue_exceeds_decimal_10_2_fails_by_rule_and_keeps_the_table(database_url, tmp_path):
    """Each payment fits NUMERIC(10,2) but their day's sum does not fit revenue_metrics.total_revenue (seed DDL)."""
    first = [(100, None, 1, TODAY.isoformat(), 10, "paid", None)]
    path = write_source(tmp_path / "clinic.db", [fake_patient(1)], [], first)
    resources = make_resources(database_url, path, tmp_path / "home")
    assert materialize_days(resources, RANGE_START.isoformat(), TODAY.isoformat()).success
    before = query(database_url, "SELECT date_key, total_revenue FROM reporting.revenue_metrics ORDER BY 1")
    con = sqlite3.connect(path)
    con.executemany("INSERT INTO payments VALUES (?, NULL, 1, ?, ?, 'paid', NULL, ?, ?)", [(101, TODAY.isoformat(), 99999999.99, "x", "x"), (102, TODAY.isoformat(), "99999999.99", "x", "x")])
    con.commit()
    con.close()
    result = materialize_days(resources, RANGE_START.isoformat(), TODAY.isoformat(), raise_on_error=False)
    assert not result.success
    assert "RevenueMetrics output breaks its schema" in failure_text(result)
    assert "total_revenue_fits_numeric_10_2 (total_revenue: must be a NUMERIC(10,2) value): 1 rows" in failure_text(result)
    (schema_check,) = [e for e in result.get_asset_check_evaluations() if e.asset_key == dg.AssetKey("revenue_metrics")]
    assert schema_check.check_name == SCHEMA_CHECK and schema_check.passed is False
    assert schema_check.metadata["broken_rules"].value == ["total_revenue_fits_numeric_10_2"]
    rules = schema_check.metadata["rules"].value
    assert "| total_revenue_fits_numeric_10_2 | total_revenue: must be a NUMERIC(10,2) value | 1 |" in rules.splitlines()
    assert "| payment_count_greater_than_or_equal_to | payment_count: greater_than_or_equal_to(0) | 0 |" in rules.splitlines()
    assert query(database_url, "SELECT date_key, total_revenue FROM reporting.revenue_metrics ORDER BY 1") == before
    assert ids(database_url, "SELECT source_payment_id FROM reporting.patient_payment_history") == {100, 101, 102}


def test_a_staged_row_that_breaks_a_history_rule_fails_the_step_and_rolls_back_its_write(database_url, tmp_path):
    """patient_payment_history writes while it validates: a broken rule must still leave the table as it was."""
    payments = [(100, None, 1, TODAY.isoformat(), 10, "paid", None), (101, None, 1, TODAY.isoformat(), 20, "pending", None)]
    path = write_source(tmp_path / "clinic.db", [fake_patient(1)], [], payments)
    resources = make_resources(database_url, path, tmp_path / "home")
    assert materialize_days(resources, RANGE_START.isoformat(), TODAY.isoformat()).success
    history = "SELECT patient_id, amount, payment_status, source_payment_id, dagster_run_id FROM reporting.patient_payment_history ORDER BY source_payment_id"
    before = query(database_url, history)
    # a staged row the SQL constraint of the history table lets through (patient_id <> '') but the pandera rule does not
    query(database_url, "UPDATE staging.payments SET patient_id = 'pt_not_a_pseudonym' WHERE source_payment_id = 101")
    # a day's history is left as it is while written from the staging it holds (warehouse.history_days): as if not
    query(database_url, "DELETE FROM staging.history_days WHERE day = %s", (TODAY,))
    result = materialize_days(resources, TODAY.isoformat(), TODAY.isoformat(), selection=["patient_payment_history"], raise_on_error=False)
    assert not result.success
    (schema_check,) = [e for e in result.get_asset_check_evaluations() if e.asset_key == dg.AssetKey("patient_payment_history")]
    assert schema_check.passed is False and schema_check.metadata["broken_rules"].value == ["patient_id_is_pseudonym"]
    assert query(database_url, history) == before
    assert query(database_url, "SELECT count(*) FROM reporting.audit_log WHERE dagster_run_id = %s", (result.run_id,)) == [(0,)]


# ------------------------------------------------------------------ invoice numbers PostgreSQL could not store
def quarantined(url: str) -> dict[tuple[str, int], tuple[str, str | None, list[str]]]:
    """{(source table, source id): (asset, partition, reasons)} of the quarantine."""
    rows = query(url, "SELECT source_table, source_id, asset_key, partition_key, reasons FROM reporting.quarantine")
    return {(table, sid): (asset, partition, reasons) for table, sid, asset, partition, reasons in rows}


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("INV-\x00-1", id="nul"),
        pytest.param("INV-1\x00", id="trailing-nul"),  # once dropped by numpy's fixed-width bytes: the payment was staged as INV-1
        pytest.param("INV-" + "9" * 60, id="over-50-characters"),
    ],
)
def test_an_invoice_number_postgres_cannot_store_quarantines_the_invoice_and_its_payments(database_url, tmp_path, number):
    path = write_source(
        tmp_path / "clinic.db",
        [fake_patient(1)],
        [(10, number, 1, "2026-01-01", "2026-01-31", 100.00, "open"), (11, "INV-2026-000011", 1, "2026-01-01", "2026-01-31", 50.00, "open")],
        # 102 has no invoice: a missing number in the same chunk once made the invoice-number rule crash and pass everything
        [(100, 10, 1, TODAY.isoformat(), 5, "paid", None), (101, 11, 1, TODAY.isoformat(), 7, "paid", None), (102, None, 1, TODAY.isoformat(), 3, "paid", None)],
    )
    resources = make_resources(database_url, path, tmp_path / "home")
    current = materialize_current(resources, raise_on_error=False)
    daily = materialize_days(resources, RANGE_START.isoformat(), TODAY.isoformat(), raise_on_error=False)
    assert current.success and daily.success
    assert quarantined(database_url) == {
        ("invoices", 10): ("staged_invoices", None, ["invoice_number is empty, longer than 50 characters or contains NUL"]),
        ("payments", 100): ("staged_payments", TODAY.isoformat(), [INVALID_INVOICE_NUMBER]),
    }
    # the other invoice and its payment went through; nothing of invoice 10 did
    assert query(database_url, "SELECT source_invoice_id FROM staging.invoices") == [(11,)]
    assert query(database_url, "SELECT source_payment_id, invoice_id FROM reporting.patient_payment_history ORDER BY 1") == [(101, "INV-2026-000011"), (102, None)]
    assert query(database_url, "SELECT invoice_id FROM reporting.outstanding_payments") == [("INV-2026-000011",)]


def test_a_carriage_return_in_an_invoice_number_is_data_not_a_line_break(database_url, tmp_path):
    path = write_source(
        tmp_path / "clinic.db",
        [fake_patient(1)],
        [(10, "INV-2026\r000010", 1, "2026-01-01", "2026-01-31", 100.00, "open")],
        [(100, 10, 1, TODAY.isoformat(), 5, "paid", None)],
    )
    resources = make_resources(database_url, path, tmp_path / "home")
    assert materialize_current(resources, raise_on_error=False).success
    assert query(database_url, "SELECT invoice_id FROM staging.invoices") == [("INV-2026\r000010",)]


# ------------------------------------------------------------------ unreadable sources
@pytest.fixture
def materialized(database_url, tmp_path):
    """A source and the tables built from it; returns (source path, resources, table contents)."""
    patients = [fake_patient(i) for i in range(1, 41)]
    invoices = [(i, f"INV-2026-{i:06d}", 1 + i % 40, "2026-01-01", "2026-01-31", 100.00, "open") for i in range(1, 201)]
    payments = [(i, 1 + i % 200, None, (RANGE_START + dt.timedelta(days=i % 7)).isoformat(), 10 + i % 7, "paid", "card") for i in range(1, 1201)]
    path = write_source(tmp_path / "clinic.db", patients, invoices, payments)
    resources = make_resources(database_url, path, tmp_path / "home")
    assert materialize_days(resources, RANGE_START.isoformat(), TODAY.isoformat()).success
    assert materialize_current(resources).success
    return path, resources, table_contents(database_url)


def test_a_locked_source_fails_the_run_in_one_sentence_and_changes_nothing(materialized, database_url):
    path, resources, before = materialized
    application = sqlite3.connect(path, isolation_level=None)
    application.execute("BEGIN EXCLUSIVE")  # the billing application in the middle of a write
    try:
        result = materialize_days(resources, RANGE_START.isoformat(), TODAY.isoformat(), raise_on_error=False)
    finally:
        application.execute("ROLLBACK")
        application.close()
    assert not result.success
    text = failure_text(result)
    sentence = re.search(r"reporting_assets\.settings\.ConfigError: (.*)", text)
    assert sentence, text
    assert "database is locked" in sentence.group(1) and str(path) in sentence.group(1)
    assert sentence.group(1).count(". ") == 0 and sentence.group(1).endswith(".")  # one sentence
    assert table_contents(database_url) == before


@pytest.mark.parametrize("cut", ["half", "header_only"])
def test_a_truncated_source_fails_the_run_in_one_sentence_and_changes_nothing(materialized, database_url, tmp_path, cut):
    path, resources, before = materialized
    data = path.read_bytes()
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(data[: len(data) // 2] if cut == "half" else data[:100])
    resources = {**resources, "billing_source": type(resources["billing_source"])(path=str(truncated))}
    for result in (
        materialize_days(resources, RANGE_START.isoformat(), TODAY.isoformat(), raise_on_error=False),
        materialize_current(resources, raise_on_error=False),
    ):
        assert not result.success
        text = failure_text(result)
        sentence = re.search(r"reporting_assets\.settings\.ConfigError: (.*)", text)
        assert sentence, text
        assert "cannot be read" in sentence.group(1) and str(truncated) in sentence.group(1)
    assert table_contents(database_url) == before


@pytest.mark.parametrize("cut", [1000, 2000])
def test_a_source_cut_inside_its_last_page_fails_in_one_sentence(materialized, database_url, tmp_path, cut):
    path, resources, before = materialized
    data = path.read_bytes()
    assert len(data) % 4096 == 0 and cut < 4096  # the cut lands inside the last page, as a copy still in progress would
    torn = tmp_path / "torn.db"
    torn.write_bytes(data[: len(data) - cut])
    resources = {**resources, "billing_source": type(resources["billing_source"])(path=str(torn))}
    result = materialize_days(resources, RANGE_START.isoformat(), TODAY.isoformat(), raise_on_error=False)
    assert not result.success and "ConfigError" in failure_text(result)
    assert table_contents(database_url) == before


def test_sql_injection_text_is_data_never_sql(database_url, tmp_path):
    """Every injection string as an invoice number and status: staged verbatim or quarantined, nothing executed."""
    invoices = [(i, text, 1, "2026-01-01", "2026-01-31", 10.00, "open") for i, text in enumerate(INJECTION, start=1)]
    payments = [(100 + i, i, 1, TODAY.isoformat(), 5, text, None) for i, text in enumerate(INJECTION, start=1)]
    path = write_source(tmp_path / "clinic.db", [fake_patient(1)], invoices, payments)
    resources = make_resources(database_url, path, tmp_path / "home")
    assert materialize_days(resources, RANGE_START.isoformat(), TODAY.isoformat()).success
    assert materialize_current(resources).success
    assert {r[0] for r in query(database_url, "SELECT invoice_id FROM staging.invoices")} == set(INJECTION)
    assert query(database_url, "SELECT count(*) FROM reporting.outstanding_payments") == [(len(INJECTION),)]
    assert ids(database_url, "SELECT source_id FROM reporting.quarantine WHERE source_table = 'payments'") == {p[0] for p in payments}
    assert query(database_url, "SELECT to_regclass('reporting.audit_log') IS NOT NULL, to_regclass('staging.payments') IS NOT NULL") == [(True, True)]


# what a source id or reference may hold in SQLite: the int64 edges and past them, bools, floats, text, NULL
ANY_REFERENCE = st.one_of(
    st.integers(min_value=-(2**63) - 2, max_value=2**63 + 1),
    st.sampled_from([-(2**63), 2**63 - 1, 2**63, 0, -1]),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(min_value=-(2**62), max_value=2**62), ANY_REFERENCE), max_size=30))
def test_a_reference_is_an_integer_key_only_when_it_is_an_int_within_int64(values):
    """int_keys' fast path (every value an int or NULL) and its per-value path agree with the rule itself."""
    from reporting_assets.staging.parsing import int_keys

    keys, mask = int_keys(values)
    expected = [type(v) is int and -(2**63) < v < 2**63 for v in values]
    assert mask.tolist() == expected
    assert keys.tolist() == [v if ok else 0 for v, ok in zip(values, expected)]


class _Label(str):
    """A str subclass: text to pandera's per-value rule."""


# what a text column of a validated frame may hold: text that repeats (pseudonyms, invoice numbers),
# text with NUL or too long, text that is not valid Unicode (a lone surrogate: no Arrow string holds
# it), missing values of every kind, and values that are not text at all
ANY_TEXT_VALUE = st.one_of(
    st.sampled_from(["pt_" + "a" * 32, "pt_" + "0123456789abcdef" * 2, "pt_" + "A" * 32, "INV-1", "x" * 50, "x" * 51, "", "a\x00b", "INV-\ud800", "é" * 50, "é" * 51, "pt_" + "a" * 33, " pt_" + "a" * 32]),
    st.text(max_size=6),
    st.text(max_size=6).map(_Label),
    st.sampled_from([None, float("nan"), pd.NA, pd.NaT, Decimal("NaN"), np.str_("pt_" + "b" * 32), b"INV-1", 7, 1.5, True, Decimal("1.00")]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ANY_TEXT_VALUE, max_size=30))
def test_text_rules_checked_per_distinct_value_agree_with_the_rules_per_row(values):
    """The text column type's one-pass check, and the pseudonym and invoice-number rules (in Arrow where
    every value is text or missing, else once per distinct value), flag exactly the rows pandera's
    per-value check and the rules row by row flag."""
    from pandera.engines import pandas_engine

    from reporting_assets import schemas

    series = pd.Series(values, dtype=object)
    per_row = pandas_engine.NpString().check(pandas_engine.Engine.dtype(object), series)
    fast = schemas.Text().check(pandas_engine.Engine.dtype(object), series)
    assert (fast is True and bool(per_row.all())) or (not isinstance(fast, bool) and fast.tolist() == per_row.tolist())

    def text(v):
        return isinstance(v, str)

    assert schemas.is_pseudonym(series).tolist() == [text(v) and re.fullmatch(r"pt_[0-9a-f]{32}", v) is not None for v in values]
    assert schemas.valid_invoice_number(series).tolist() == [text(v) and 0 < len(v) <= 50 and "\x00" not in v for v in values]
    # the same text held as Arrow strings (patient_payment_history reads its chunks so)
    if all(v is None or text(v) and "\ud800" not in v for v in values):
        arrow = pd.Series(values, dtype=pd.ArrowDtype(pa.string()))
        assert schemas.is_pseudonym(arrow).tolist() == schemas.is_pseudonym(series).tolist()
        assert schemas.valid_invoice_number(arrow).tolist() == schemas.valid_invoice_number(series).tolist()


# amounts a money column may hold: other exponents, at and past the NUMERIC bounds, NaN (NUMERIC holds
# it), infinities, and values that are not Decimals but equal one
HOSTILE_AMOUNTS = [
    Decimal("1.00"), Decimal("1.0"), Decimal("1"), Decimal("1.001"), Decimal("0"), Decimal("-0.01"), Decimal("99999999.99"),
    Decimal("100000000.00"), Decimal("999999999999.99"), Decimal("1E+12"), Decimal("1E+30"), Decimal("NaN"), Decimal("sNaN"),
    Decimal("Infinity"), None, 1, 1.0, True, "1.00",
]
T, F = True, False


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("_two_places_within_numeric_10_2", [T, T, T, F, T, T, T, F, F, F, F, F, F, F, F, F, F, F, F]),
        ("_cents_within_numeric_14_2", [T, T, T, F, T, F, T, T, T, F, F, F, F, F, F, F, F, F, F]),
        ("_decimal_gt_zero", [T, T, T, T, F, F, T, T, T, T, T, F, F, F, F, F, F, F, F]),
        ("_decimal_ge_zero", [T, T, T, T, T, F, T, T, T, T, T, F, F, F, F, F, F, F, F]),
    ],
)
def test_money_rules_flag_hostile_amounts_instead_of_raising(rule, expected):
    """Each money rule answers for every amount: a NaN or an amount too large to quantize is flagged,
    never an exception (which would fail the check instead of naming the rows)."""
    from reporting_assets import schemas

    verdicts = getattr(schemas, rule)(pd.Series(HOSTILE_AMOUNTS, dtype=object))
    assert dict(zip(map(repr, HOSTILE_AMOUNTS), verdicts.tolist())) == dict(zip(map(repr, HOSTILE_AMOUNTS), expected))
