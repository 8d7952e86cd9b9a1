"""Retention with a distinct period per table: each table is cut exactly at its own boundary.

With the defaults (report, audit and quarantine all 365 days) a rule reading the wrong period
still passes; here every period differs (audit 2190, report 400, quarantine 200, ETL status
100 days), the settings go through the platform's own path (environment -> Settings ->
build_resources -> ReportingPolicyResource -> the retention job), and each table holds a row
on its oldest kept day (or instant) and one just before it.
"""

import datetime as dt

import pytest

from reporting_assets.defs.automation.retention import retention_job
from reporting_assets.defs.resources import build_resources
from reporting_assets_tests.conftest import TODAY, make_settings, query

PERIODS = {"audit": 2190, "report": 400, "quarantine": 200, "etl_status": 100}
# the oldest day each period keeps, with today 2026-03-20
KEPT_FROM = {name: TODAY - dt.timedelta(days=days) for name, days in PERIODS.items()}
PATIENT = "pt_" + "a" * 32


def test_the_periods_are_distinct_dates():
    assert KEPT_FROM == {
        "audit": dt.date(2020, 3, 21),
        "report": dt.date(2025, 2, 13),
        "quarantine": dt.date(2025, 9, 1),
        "etl_status": dt.date(2025, 12, 10),
    }
    assert len(set(KEPT_FROM.values())) == 4


@pytest.fixture
def resources(database_url, tmp_path):
    settings = make_settings(
        database_url,
        tmp_path / "unused.db",
        tmp_path / "home",
        audit_retention_days=PERIODS["audit"],
        report_retention_days=PERIODS["report"],
        quarantine_retention_days=PERIODS["quarantine"],
        etl_status_retention_days=PERIODS["etl_status"],
    )
    resources = build_resources(settings, as_of=TODAY)
    assert resources["policy"].retention_cutoffs() == KEPT_FROM
    return {name: resources[name] for name in ("warehouse", "policy")}


def day(period: str, offset: int = 0) -> dt.date:
    return KEPT_FROM[period] + dt.timedelta(days=offset)


def instant(period: str, offset_seconds: int = 0) -> dt.datetime:
    return dt.datetime.combine(KEPT_FROM[period], dt.time()) + dt.timedelta(seconds=offset_seconds)


def seed(url: str) -> None:
    """Per table: one row on the oldest kept day (instant), one just before it."""
    before, first = day("report", -1), day("report")
    query(url, "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES (%s, 1, 1, 1), (%s, 2, 1, 2)", (before, first))
    query(
        url,
        "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id) VALUES (%s, %s, 1, 'paid', 1), (%s, %s, 1, 'paid', 2)",
        (PATIENT, before, PATIENT, first),
    )
    query(
        url,
        "INSERT INTO staging.payments (source_payment_id, patient_id, payment_date, amount_cents, payment_status) VALUES (1, %s, %s, 100, 'paid'), (2, %s, %s, 100, 'paid')",
        (PATIENT, before, PATIENT, first),
    )
    query(url, "INSERT INTO staging.payment_day_counts (day, staged, quarantined) VALUES (%s, 1, 0), (%s, 1, 0)", (before, first))
    query(url, "INSERT INTO staging.history_days (day, staged_run_id, code_version) VALUES (%s, 'r', 'c'), (%s, 'r', 'c')", (before, first))
    query(
        url,
        "INSERT INTO reporting.outstanding_payments (patient_id, invoice_id, amount_due, days_overdue, payment_status, updated_at) VALUES (%s, 'INV-OLD', 1, 1, 'overdue', %s), (%s, 'INV-KEPT', 1, 1, 'overdue', %s)",
        (PATIENT, instant("report", -1), PATIENT, instant("report")),
    )
    query(
        url,
        "INSERT INTO reporting.quarantine (source_table, source_id, asset_key, dagster_run_id, reasons, quarantined_at) VALUES ('payments', 1, 'staged_payments', 'r', '{x}', %s), ('payments', 2, 'staged_payments', 'r', '{x}', %s)",
        (instant("quarantine", -1), instant("quarantine")),
    )
    query(
        url,
        "INSERT INTO reporting.etl_process_status (process_name, status, started_at) VALUES ('old', 'completed', %s), ('kept', 'completed', %s)",
        (instant("etl_status", -1), instant("etl_status")),
    )
    query(
        url,
        "INSERT INTO reporting.audit_log (user_id, action, resource_type, resource_id, timestamp) VALUES ('u', 'materialize', 'asset', 'old', %s), ('u', 'materialize', 'asset', 'kept', %s)",
        (instant("audit", -1), instant("audit")),
    )


def test_each_table_is_cut_exactly_at_its_own_period(database_url, resources):
    seed(database_url)
    result = retention_job.execute_in_process(resources=resources, tags={"dagster/schedule_name": "retention_schedule"})
    assert result.success
    assert result.output_for_node("retention_cleanup") == {
        "reporting.revenue_metrics": 1,
        "reporting.patient_payment_history": 1,
        "staging.history_days": 1,
        "staging.payment_day_counts": 1,
        "staging.payments": 1,
        "reporting.outstanding_payments": 1,
        "reporting.quarantine": 1,
        "reporting.etl_process_status": 1,
        "reporting.audit_log": 1,
    }
    assert query(database_url, "SELECT date_key FROM reporting.revenue_metrics") == [(day("report"),)]
    assert query(database_url, "SELECT payment_date FROM reporting.patient_payment_history") == [(day("report"),)]
    assert query(database_url, "SELECT payment_date FROM staging.payments") == [(day("report"),)]
    assert query(database_url, "SELECT day FROM staging.payment_day_counts") == [(day("report"),)]
    assert query(database_url, "SELECT day FROM staging.history_days") == [(day("report"),)]
    assert query(database_url, "SELECT invoice_id FROM reporting.outstanding_payments") == [("INV-KEPT",)]
    assert query(database_url, "SELECT source_id FROM reporting.quarantine") == [(2,)]
    assert query(database_url, "SELECT process_name FROM reporting.etl_process_status") == [("kept",)]
    assert query(database_url, "SELECT resource_id FROM reporting.audit_log WHERE user_id = 'u'") == [("kept",)]
    logged = dict(query(database_url, "SELECT resource_id, details FROM reporting.audit_log WHERE action = 'retention_cleanup'"))
    assert logged == {
        "reporting.revenue_metrics": f"date_key < {day('report')}",
        "reporting.patient_payment_history": f"payment_date < {day('report')}",
        "staging.history_days": f"day < {day('report')}",
        "staging.payment_day_counts": f"day < {day('report')}",
        "staging.payments": f"payment_date < {day('report')}",
        "reporting.outstanding_payments": f"updated_at < {day('report')}",
        "reporting.quarantine": f"quarantined_at < {day('quarantine')}",
        "reporting.etl_process_status": f"started_at < {day('etl_status')}",
        "reporting.audit_log": f"timestamp < {day('audit')}",
    }
