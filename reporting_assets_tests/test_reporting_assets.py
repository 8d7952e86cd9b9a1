"""The reporting tables from a small hand-written billing source, against expectations written out by hand.

Clinic "today" is 2026-03-20; the daily assets run once over 2026-03-01...2026-03-20.
"""

import datetime as dt
import re
import sqlite3
from decimal import Decimal as D

import dagster as dg
import pandas as pd
import pytest

from reporting_assets_tests.conftest import (
    TODAY,
    fake_patient,
    make_resources,
    materialize_current,
    materialize_days,
    pseudonym,
    query,
    write_source,
)


P1, P2, P3 = pseudonym(1), pseudonym(2), pseudonym(3)

INVOICES = [
    (10, "INV-2026-000010", 1, "2026-01-01", "2026-01-31", 100.00, "open"),
    (11, "INV-2026-000011", 2, "2025-10-01", "2025-10-31", 200.00, "open"),
    (12, "INV-2026-000012", 3, "2025-02-01", "2025-03-20", 50.00, "open"),
    (13, "INV-2026-000013", 1, "2025-02-01", "2025-03-21", 60.00, "OPEN"),
    (14, "INV-2026-000014", 2, "2026-01-30", "2026-03-01", 80.00, "written_off"),
    (15, "INV-2026-000015", 3, "2026-02-18", "2026-03-20", 30.00, "open"),
    (16, "INV-2026-000016", 3, "2026-02-17", "2026-03-19", 30.00, "open"),
    (17, "INV-2026-000017", 1, "2026-01-02", "2026-02-01", 40.00, "void"),
    (18, "INV-2026-000018", 1, "2026-01-02", "2026-02-01", 40.00, "paid"),
    (19, "INV-2026-000019", 2, "2026-01-02", "2026-02-01", 40.00, "open"),
    (20, "INV-2026-000020", 2, "2025-10-21", "2025-11-20", 10.00, "open"),
    (21, "INV-2026-000021", 2, "2025-10-22", "2025-11-21", 10.00, "open"),
]

PAYMENTS = [
    # 2026-03-02: text and float amounts rounded half-up, NULL patient via invoice, status case
    (100, 10, 1, "2026-03-02", "10.005", "paid", "card"),
    (101, 10, None, "2026-03-02T14:22:05", 2.675, "PAID", "card"),
    (102, 10, 1, "2026-03-02", 20, "refunded", "card"),
    (103, 11, 2, "2026-03-02", 5.5, "pending", "ach"),
    (104, 11, 2, "2026-03-02", 7.25, "failed", "card"),
    # 2026-03-04
    (105, 19, 2, "2026-03-04", 40.00, "paid", "cash"),
    (106, 14, 2, "2026-03-04", 30, "paid", "insurance"),
    (107, 11, 2, "2026-03-04", 0.1 + 0.2, "paid", None),
    # 2026-03-05: one valid payment and every quarantine reason
    (108, 10, 1, "2026-03-05", "abc", "paid", None),
    (109, 10, 1, "2026-03-05", 0, "paid", None),
    (110, 10, 1, "2026-03-05", -3, "paid", None),
    (111, 10, 1, "2026-03-05", 5, "bounced", None),
    (112, 999, 1, "2026-03-05", 5, "paid", None),
    (113, 10, 77, "2026-03-05", 5, "paid", None),
    (114, 10, 1, "2026-03-05", 0.004, "paid", None),
    (115, 13, 1, "2026-03-05", "12.50", " Paid", "card"),
    # dates that place a payment in no partition
    (116, 10, 1, "not a date", 5, "paid", None),
    (117, 10, 1, "2026-04-01", 5, "paid", None),
    (118, 10, 1, "2026-02-30", 5, "paid", None),
    # attempts that are not revenue but are the invoices' last payment dates
    (119, 12, 3, "2025-06-01", 10, "failed", None),
    (120, 16, 3, "2026-03-10", 5, "pending", None),
    (121, 11, 2, "2026-03-15", 3, "refunded", None),
]

EXPECTED_HISTORY = {
    # source_payment_id: (patient_id, payment_date, amount, payment_status, invoice_id)
    100: (P1, "2026-03-02", D("10.01"), "paid", "INV-2026-000010"),
    101: (P1, "2026-03-02", D("2.68"), "paid", "INV-2026-000010"),
    102: (P1, "2026-03-02", D("20.00"), "refunded", "INV-2026-000010"),
    103: (P2, "2026-03-02", D("5.50"), "pending", "INV-2026-000011"),
    104: (P2, "2026-03-02", D("7.25"), "failed", "INV-2026-000011"),
    105: (P2, "2026-03-04", D("40.00"), "paid", "INV-2026-000019"),
    106: (P2, "2026-03-04", D("30.00"), "paid", "INV-2026-000014"),
    107: (P2, "2026-03-04", D("0.30"), "paid", "INV-2026-000011"),
    115: (P1, "2026-03-05", D("12.50"), "paid", "INV-2026-000013"),
    120: (P3, "2026-03-10", D("5.00"), "pending", "INV-2026-000016"),
    121: (P2, "2026-03-15", D("3.00"), "refunded", "INV-2026-000011"),
}

EXPECTED_REVENUE = {
    "2026-03-02": (D("12.69"), 2, D("6.35")),  # 12.69 / 2 = 6.345 -> 6.35
    "2026-03-04": (D("70.30"), 3, D("23.43")),
    "2026-03-05": (D("12.50"), 1, D("12.50")),
}

EXPECTED_OUTSTANDING = {
    # invoice: (patient, amount_due, days_overdue, last_payment_date, payment_status)
    "INV-2026-000010": (P1, D("87.31"), 48, "2026-03-02", "overdue"),
    "INV-2026-000011": (P2, D("199.70"), 140, "2026-03-15", "collection"),
    "INV-2026-000012": (P3, D("50.00"), 365, "2025-06-01", "written_off"),
    "INV-2026-000013": (P1, D("47.50"), 364, "2026-03-05", "collection"),
    "INV-2026-000014": (P2, D("50.00"), 19, "2026-03-04", "written_off"),
    "INV-2026-000016": (P3, D("30.00"), 1, "2026-03-10", "overdue"),
    "INV-2026-000020": (P2, D("10.00"), 120, None, "collection"),
    "INV-2026-000021": (P2, D("10.00"), 119, None, "overdue"),
}

EXPECTED_QUARANTINE = {
    108: ("2026-03-05", ["amount is not a number"]),
    109: ("2026-03-05", ["amount must be > 0"]),
    110: ("2026-03-05", ["amount must be > 0"]),
    111: ("2026-03-05", ["status is not one of paid, pending, failed, refunded"]),
    112: ("2026-03-05", ["unknown invoice"]),
    113: ("2026-03-05", ["no resolvable patient"]),
    114: ("2026-03-05", ["amount must be > 0"]),
    116: (None, ["payment_date is not a valid ISO date"]),
    117: (None, ["payment_date is in the future"]),
    118: (None, ["payment_date is not a valid ISO date"]),
}


@pytest.fixture
def source(tmp_path):
    return write_source(tmp_path / "clinic.db", [fake_patient(i) for i in (1, 2, 3)], INVOICES, PAYMENTS)


@pytest.fixture
def resources(database_url, source, tmp_path):
    return make_resources(database_url, source, tmp_path / "home")


def history(url):
    rows = query(url, "SELECT source_payment_id, patient_id, payment_date::text, amount, payment_status, invoice_id FROM reporting.patient_payment_history")
    return {r[0]: r[1:] for r in rows}


def revenue(url):
    rows = query(url, "SELECT date_key::text, total_revenue, payment_count, average_payment FROM reporting.revenue_metrics ORDER BY date_key")
    return {r[0]: r[1:] for r in rows}


def outstanding(url):
    rows = query(url, "SELECT invoice_id, patient_id, amount_due, days_overdue, last_payment_date::text, payment_status FROM reporting.outstanding_payments")
    return {r[0]: r[1:] for r in rows}


def test_patient_payment_history_matches_hand_computed_rows(resources, database_url):
    materialize_days(resources, "2026-03-01", "2026-03-20")
    assert history(database_url) == EXPECTED_HISTORY


def test_revenue_metrics_one_row_per_day_with_zero_days(resources, database_url):
    materialize_days(resources, "2026-03-01", "2026-03-20")
    rows = revenue(database_url)
    assert len(rows) == 20
    for day in (dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(20)):
        expected = EXPECTED_REVENUE.get(day.isoformat(), (D("0.00"), 0, D("0.00")))
        assert rows[day.isoformat()] == expected, day


def test_outstanding_payments_boundaries_and_last_attempt(resources, database_url):
    materialize_current(resources)
    assert outstanding(database_url) == EXPECTED_OUTSTANDING


def test_bad_rows_are_quarantined_with_reasons_and_no_pii(resources, database_url):
    materialize_days(resources, "2026-03-01", "2026-03-20")
    rows = query(database_url, "SELECT source_id, partition_key, reasons, source_table, asset_key FROM reporting.quarantine")
    assert {r[0]: (r[1], sorted(r[2])) for r in rows} == EXPECTED_QUARANTINE
    assert {(r[3], r[4]) for r in rows} == {("payments", "staged_payments")}


def test_accepted_plus_quarantined_equals_read_per_partition(resources, database_url, source):
    result = materialize_days(resources, "2026-03-01", "2026-03-20")
    con = sqlite3.connect(source)
    read = dict(con.execute("SELECT substr(payment_date, 1, 10), count(*) FROM payments WHERE payment_date BETWEEN '2026-03-01' AND '2026-03-20T99' AND id NOT IN (118) GROUP BY 1"))
    staged = dict(query(database_url, "SELECT payment_date::text, count(*) FROM staging.payments GROUP BY 1"))
    quarantined = dict(query(database_url, "SELECT partition_key, count(*) FROM reporting.quarantine WHERE partition_key IS NOT NULL GROUP BY 1"))
    for day, count in read.items():
        assert staged.get(day, 0) + quarantined.get(day, 0) == count, day
    undated = query(database_url, "SELECT count(*) FROM reporting.quarantine WHERE partition_key IS NULL")[0][0]
    assert sum(staged.values()) + sum(quarantined.values()) + undated == len(PAYMENTS) - 1  # 119 predates the range
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations() if e.asset_key == dg.AssetKey("staged_payments")}
    assert checks == {"no_quarantined_rows": False, "accepted_plus_quarantined_equals_read": True}


def test_undated_payments_are_quarantined_by_every_run(resources, database_url):
    materialize_days(resources, "2026-03-10", "2026-03-10")
    undated = query(database_url, "SELECT source_id FROM reporting.quarantine WHERE partition_key IS NULL ORDER BY 1")
    assert [r[0] for r in undated] == [116, 117, 118]


def test_moved_and_deleted_payments_appear_once_in_their_current_day(resources, database_url, source):
    materialize_days(resources, "2026-03-01", "2026-03-20")
    con = sqlite3.connect(source)
    con.execute("UPDATE payments SET payment_date = '2026-03-06', updated_at = '2026-03-20T10:00:00' WHERE id = 105")
    con.execute("DELETE FROM payments WHERE id = 100")
    con.commit()
    for day in ("2026-03-02", "2026-03-04", "2026-03-06"):  # the days the changes touched
        materialize_days(resources, day, day)
    rows = history(database_url)
    assert 100 not in rows
    assert rows[105][1] == "2026-03-06"
    assert query(database_url, "SELECT count(*) FROM reporting.patient_payment_history WHERE source_payment_id = 105")[0][0] == 1
    money = revenue(database_url)
    assert money["2026-03-02"] == (D("2.68"), 1, D("2.68"))
    assert money["2026-03-04"] == (D("30.30"), 2, D("15.15"))
    assert money["2026-03-06"] == (D("40.00"), 1, D("40.00"))


def test_rerun_is_idempotent_and_keeps_created_at(resources, database_url):
    materialize_days(resources, "2026-03-01", "2026-03-20")
    materialize_current(resources)
    first = (history(database_url), revenue(database_url), outstanding(database_url))
    created = dict(query(database_url, "SELECT date_key::text, created_at FROM reporting.revenue_metrics"))
    created_out = dict(query(database_url, "SELECT invoice_id, created_at FROM reporting.outstanding_payments"))
    materialize_days(resources, "2026-03-01", "2026-03-20")
    materialize_current(resources)
    assert (history(database_url), revenue(database_url), outstanding(database_url)) == first
    assert dict(query(database_url, "SELECT date_key::text, created_at FROM reporting.revenue_metrics")) == created
    assert dict(query(database_url, "SELECT invoice_id, created_at FROM reporting.outstanding_payments")) == created_out
    updated = query(database_url, "SELECT count(*) FROM reporting.revenue_metrics WHERE updated_at > created_at")[0][0]
    assert updated == 20
    assert query(database_url, "SELECT count(*) FROM reporting.quarantine")[0][0] == len(EXPECTED_QUARANTINE)


def test_outstanding_drops_invoices_no_longer_outstanding(resources, database_url, source):
    materialize_current(resources)
    con = sqlite3.connect(source)
    con.execute("INSERT INTO payments VALUES (200, 16, 3, '2026-03-18', 30, 'paid', 'card', '2026-03-18', '2026-03-18')")
    con.commit()
    materialize_current(resources)
    assert "INV-2026-000016" not in outstanding(database_url)
    assert len(outstanding(database_url)) == len(EXPECTED_OUTSTANDING) - 1


def validated_and_changed(run: dg.ExecuteInProcessResult) -> tuple[int, int]:
    """outstanding_payments' rows its schema check validated, and the rows its write changed."""
    (check,) = [e for e in run.get_asset_check_evaluations() if e.asset_key == dg.AssetKey("outstanding_payments")]
    (materialization,) = run.asset_materializations_for_node("outstanding_payments")
    return check.metadata["rows_checked"].value, materialization.metadata["rows_changed"].value


def test_outstanding_rows_that_did_not_change_are_not_written_again(resources, database_url, source, tmp_path):
    """A second run the same day rewrites only the invoice a payment changed; the next day every row moves (days_overdue)."""
    first = materialize_current(resources)
    written = "SELECT invoice_id, dagster_run_id, updated_at FROM reporting.outstanding_payments"
    before = {invoice: (run_id, updated) for invoice, run_id, updated in query(database_url, written)}
    assert {run_id for run_id, _ in before.values()} == {first.run_id}
    con = sqlite3.connect(source)
    con.execute("INSERT INTO payments VALUES (200, 16, 3, '2026-03-18', 10, 'paid', 'card', '2026-03-18', '2026-03-18')")  # 20.00 of 30.00 due
    con.commit()
    second = materialize_current(resources)
    after = {invoice: (run_id, updated) for invoice, run_id, updated in query(database_url, written)}
    assert {invoice for invoice in after if after[invoice] != before[invoice]} == {"INV-2026-000016"}
    assert after["INV-2026-000016"][0] == second.run_id and after["INV-2026-000016"][1] > before["INV-2026-000016"][1]
    assert outstanding(database_url)["INV-2026-000016"][1] == D("20.00")
    assert validated_and_changed(second) == (1, 1)  # only the written row is validated again
    assert validated_and_changed(materialize_current(resources)) == (0, 0)  # nothing new
    next_day = materialize_current(make_resources(database_url, source, tmp_path / "home", today=TODAY + dt.timedelta(days=1)))
    assert {run_id for run_id, _ in query(database_url, "SELECT dagster_run_id, 1 FROM reporting.outstanding_payments")} == {next_day.run_id}
    (rows,) = query(database_url, "SELECT count(*) FROM reporting.outstanding_payments")[0]
    assert validated_and_changed(next_day) == (rows, rows) and rows > len(before)  # an invoice fell due as well
    # the aging totals the triggers keep (sql/007) follow the rows the upserts wrote
    direct = "SELECT reporting.aging_bucket(days_overdue), payment_status, count(*)::int, sum(amount_due) FROM reporting.outstanding_payments GROUP BY 1, 2 ORDER BY 1, 2"
    kept = "SELECT bucket, payment_status, invoice_count, amount_due FROM reporting.ar_aging WHERE invoice_count <> 0 ORDER BY 1, 2"
    assert query(database_url, kept) == query(database_url, direct)


def test_partitions_older_than_retention_write_nothing(database_url, source, tmp_path):
    resources = make_resources(database_url, source, tmp_path / "home", report_retention_days=10)
    materialize_days(resources, "2026-03-01", "2026-03-20")
    days = [r[0] for r in query(database_url, "SELECT date_key::text FROM reporting.revenue_metrics ORDER BY 1")]
    assert days[0] == "2026-03-10" and len(days) == 11
    assert set(history(database_url)) == {120, 121}


def test_output_breaking_its_schema_fails_and_keeps_previous_rows(resources, database_url, monkeypatch):
    materialize_days(resources, "2026-03-01", "2026-03-20")
    before = revenue(database_url)
    from reporting_assets.defs.reporting import revenue_metrics as module

    real = module.daily_revenue

    def buggy(paid_by_day, window):
        frame = real(paid_by_day, window)
        frame.loc[0, "total_revenue"] = D("-1.00")
        return frame

    monkeypatch.setattr(module, "daily_revenue", buggy)
    result = materialize_days(resources, "2026-03-01", "2026-03-20", selection=["revenue_metrics"], raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    message = failure.step_failure_data.error.message
    assert "total_revenue must be >= 0" in message and "rows [0]" in message
    assert revenue(database_url) == before


def test_no_source_pii_reaches_postgres_or_the_event_log(resources, database_url):
    instance = dg.DagsterInstance.ephemeral()
    daily = materialize_days(resources, "2026-03-01", "2026-03-20", instance=instance)
    current = materialize_current(resources, instance=instance)
    materialized = {e.asset_key.path[-1] for result in (daily, current) for e in result.get_asset_materialization_events()}
    assert materialized == {"staged_payments", "patient_payment_history", "revenue_metrics", "staged_invoices", "outstanding_payments"}
    pii = [value for i in (1, 2, 3) for value in fake_patient(i)[1:]]
    dump = "\n".join(
        str(row)
        for table in ("reporting.patient_payment_history", "reporting.revenue_metrics", "reporting.outstanding_payments", "reporting.quarantine", "reporting.audit_log", "staging.payments", "staging.invoices")
        for row in query(database_url, f"SELECT * FROM {table}")
    )
    events = "\n".join(str(record) for run in instance.get_runs() for record in instance.all_logs(run.run_id))
    # the scan saw the runs' output: every patient's pseudonym is in the tables, every asset's materialization in the events
    assert all(pseudonym(i) in dump for i in (1, 2, 3)), "the tables do not hold the hand-made payments"
    assert daily.run_id in events and current.run_id in events
    for value in pii:
        # a value of digits only (the zip code "01901") counts where it stands alone: inside a longer run
        # of digits, or after a decimal point, it is part of something else, such as an event's timestamp
        leaked = re.compile(rf"(?<![0-9.]){value}(?![0-9])" if value.isdigit() else re.escape(value))
        assert not leaked.search(dump), value
        assert not leaked.search(events), value


def test_the_history_validates_exactly_the_staged_values_it_projects(database_url, monkeypatch):
    """projected_chunks reads COPY's CSV with Arrow: NULL, empty and NULL-like text, quotes and
    line breaks come back as the staged values, across several blocks."""
    from reporting_assets.dates import DateWindow
    from reporting_assets.defs.reporting import patient_payment_history
    from reporting_assets.warehouse import copy_out
    from reporting_assets.warehouse.database import transaction

    monkeypatch.setattr(copy_out, "READ_BLOCK_BYTES", 200)  # a few rows per block
    numbers = [None, "", "NULL", "NaN", "N/A", "null", '"quoted",', "tab\there", "line\nbreak", "\\N", "INV-1"] * 3
    rows = [
        (i, f"pt_{i:032x}", number, dt.date(2026, 3, 1) + dt.timedelta(days=i % 3), 100 + i, ("paid", "pending")[i % 2])
        for i, number in enumerate(numbers, start=1)
    ]
    with transaction(database_url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO staging.payments (source_payment_id, patient_id, invoice_id, payment_date, amount_cents, payment_status) VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )
    with transaction(database_url) as conn:
        chunks = list(patient_payment_history.projected_chunks(conn, DateWindow(dt.date(2026, 3, 1), dt.date(2026, 3, 4))))
    assert len(chunks) > 2
    read = [
        (int(r.source_payment_id), r.patient_id, None if r.invoice_id is pd.NA else r.invoice_id, r.payment_date.date(), int(r.amount_cents), r.payment_status)
        for chunk in chunks
        for r in chunk.itertuples(index=False)
    ]
    assert sorted(read, key=lambda r: r[0]) == rows
    assert all(str(chunk["payment_date"].dtype) == "datetime64[ns]" for chunk in chunks)
    # text stays in Arrow, where the rules test it without a Python string per value
    assert all(str(chunk[column].dtype) == "string[pyarrow]" for chunk in chunks for column in ("patient_id", "invoice_id", "payment_status"))
