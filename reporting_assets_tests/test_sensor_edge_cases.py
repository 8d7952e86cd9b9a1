"""The source-change sensor's edge cases: each tick requests exactly the days (and jobs) the change touches.

Quarantined payments that move or are fixed, payments moved across the report retention edge,
and ticks where only an invoice or only a patient changed. Every test asserts the exact set of
requested ranges per job, so a day too many is as wrong as a day missing.
"""

import pytest

from reporting_assets_tests.conftest import make_resources, materialize_days, query, write_source
from reporting_assets_tests.test_operations import INVOICES, PAYMENTS, change, requested, tick
from reporting_assets_tests.test_operations import primed, resources, source  # noqa: F401 - fixtures

FACTS = "daily_facts_job"
OUTSTANDING = {"outstanding_job": [(None, None)]}


def quarantine_of(url, payment_id):
    return query(url, "SELECT partition_key, reasons FROM reporting.quarantine WHERE source_table = 'payments' AND source_id = %s", (payment_id,))


@pytest.fixture
def quarantined(resources, source, database_url):  # noqa: F811
    """Payment 50 (amount 'abc', 2026-03-05) is quarantined on its day; the sensor's cursor is recorded after."""
    change(source, "INSERT INTO payments VALUES (50, 10, 1, '2026-03-05', 'abc', 'paid', 'card', '2026-03-19T09:00:00', '2026-03-19T09:00:00')")
    materialize_days(resources, "2026-03-01", "2026-03-20")
    assert quarantine_of(database_url, 50) == [("2026-03-05", ["amount is not a number"])]
    first = tick(resources, None)
    assert not first.run_requests
    return first.cursor


def test_a_quarantined_payment_moved_to_another_day_requests_both_days(resources, source, quarantined):  # noqa: F811
    change(source, "UPDATE payments SET payment_date = '2026-03-09', updated_at = '2026-03-20T10:00:00' WHERE id = 50")
    assert requested(tick(resources, quarantined)) == {FACTS: [("2026-03-05", "2026-03-05"), ("2026-03-09", "2026-03-09")], **OUTSTANDING}


def test_a_quarantined_payment_fixed_in_place_requests_its_day_only(resources, source, quarantined, database_url):  # noqa: F811
    change(source, "UPDATE payments SET amount = 5, updated_at = '2026-03-20T10:00:00' WHERE id = 50")
    result = tick(resources, quarantined)
    assert requested(result) == {FACTS: [("2026-03-05", "2026-03-05")], **OUTSTANDING}
    materialize_days(resources, "2026-03-05", "2026-03-05")
    assert quarantine_of(database_url, 50) == []
    assert query(database_url, "SELECT payment_date::text, amount::text FROM reporting.patient_payment_history WHERE source_payment_id = 50") == [
        ("2026-03-05", "5.00")
    ]


def test_an_undated_payment_given_a_date_requests_that_day_only(resources, source, primed, database_url):  # noqa: F811
    change(source, "INSERT INTO payments VALUES (51, 10, 1, 'someday', 5, 'paid', 'card', '2026-03-20T09:00:00', '2026-03-20T09:00:00')")
    cursor = tick(resources, primed).cursor
    materialize_days(resources, "2026-03-20", "2026-03-20")  # the run the sensor asked for (today) quarantines it undated
    assert [key for key, _ in quarantine_of(database_url, 51)] == [None]
    change(source, "UPDATE payments SET payment_date = '2026-03-11', updated_at = '2026-03-20T10:00:00' WHERE id = 51")
    assert requested(tick(resources, cursor)) == {FACTS: [("2026-03-11", "2026-03-11")], **OUTSTANDING}


# ------------------------------------------------------------------ the retention edge
@pytest.fixture
def short_retention(database_url, tmp_path):
    """Reports kept 15 days: with today 2026-03-20 the oldest kept day is 2026-03-05."""
    path = write_source(tmp_path / "edge.db", [(1, "Testfirst0001", "Fakelast0001", None, None, None, None, None, None)], INVOICES, [
        *PAYMENTS,
        (4, 10, 1, "2026-03-05", 40, "paid", "card"),  # the oldest kept day
    ])
    resources = make_resources(database_url, path, tmp_path / "home", report_retention_days=15)
    materialize_days(resources, "2026-03-01", "2026-03-20")
    kept = query(database_url, "SELECT source_payment_id FROM reporting.patient_payment_history ORDER BY 1")
    assert kept == [(3,), (4,)]  # 2026-03-02 and 2026-03-04 are past retention: never written
    return path, resources, tick(resources, None).cursor


def test_a_payment_moved_out_of_retention_requests_only_the_day_it_left(short_retention):
    path, resources, cursor = short_retention
    change(path, "UPDATE payments SET payment_date = '2026-03-04', updated_at = '2026-03-20T10:00:00' WHERE id = 3")
    assert requested(tick(resources, cursor)) == {FACTS: [("2026-03-06", "2026-03-06")], **OUTSTANDING}


def test_a_payment_moved_from_the_edge_day_out_requests_the_edge_day(short_retention):
    path, resources, cursor = short_retention
    change(path, "UPDATE payments SET payment_date = '2026-02-20', updated_at = '2026-03-20T10:00:00' WHERE id = 4")
    assert requested(tick(resources, cursor)) == {FACTS: [("2026-03-05", "2026-03-05")], **OUTSTANDING}


def test_a_payment_moved_into_retention_requests_only_its_new_day(short_retention):
    path, resources, cursor = short_retention
    change(path, "UPDATE payments SET payment_date = '2026-03-05', updated_at = '2026-03-20T10:00:00' WHERE id = 1")
    assert requested(tick(resources, cursor)) == {FACTS: [("2026-03-05", "2026-03-05")], **OUTSTANDING}


# ------------------------------------------------------------------ only an invoice, only a patient
def test_an_invoice_change_with_no_payment_change_requests_its_payments_days_and_outstanding(resources, source, primed):  # noqa: F811
    change(source, "UPDATE invoices SET status = 'void', updated_at = '2026-03-20T09:30:00' WHERE id = 10")
    assert requested(tick(resources, primed)) == {
        FACTS: [("2026-03-02", "2026-03-02"), ("2026-03-04", "2026-03-04"), ("2026-03-06", "2026-03-06")],
        **OUTSTANDING,
    }


def test_a_new_invoice_without_payments_requests_outstanding_only(resources, source, primed):  # noqa: F811
    change(source, "INSERT INTO invoices VALUES (11, 'INV-2026-000011', 1, '2026-02-01', '2026-03-01', 80, 'open', '2026-03-20T09:30:00', '2026-03-20T09:30:00')")
    assert requested(tick(resources, primed)) == OUTSTANDING


def test_a_new_invoice_requests_the_day_of_the_payment_waiting_for_it(resources, source, database_url):  # noqa: F811
    change(source, "INSERT INTO payments VALUES (60, 11, 1, '2026-03-08', 5, 'paid', 'card', '2026-01-01T09:00:00', '2026-01-01T09:00:00')")
    materialize_days(resources, "2026-03-01", "2026-03-20")
    assert [key for key, _ in quarantine_of(database_url, 60)] == ["2026-03-08"]
    cursor = tick(resources, None).cursor
    change(source, "INSERT INTO invoices VALUES (11, 'INV-2026-000011', 1, '2026-02-01', '2026-03-01', 80, 'open', '2026-03-20T09:30:00', '2026-03-20T09:30:00')")
    assert requested(tick(resources, cursor)) == {FACTS: [("2026-03-08", "2026-03-08")], **OUTSTANDING}


def test_a_patient_detail_change_alone_requests_nothing(resources, source, primed):  # noqa: F811
    # names, addresses and the like never reach the reports: nothing to refresh
    change(source, "UPDATE patients SET address = '2 Other Street', updated_at = '2026-03-20T09:30:00' WHERE id = 1")
    result = tick(resources, primed)
    assert requested(result) == {}
    assert "No source payment or invoice changed" in result.skip_reason.skip_message
