"""Schedules, the source-change sensor, run status into etl_process_status, audit users and retention."""

import datetime as dt
import sqlite3
import uuid
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from reporting_assets.definitions import build_definitions
from reporting_assets.defs.automation import sensors
from reporting_assets.defs.automation.run_status import record_runs
from reporting_assets.defs.automation.schedules import build_schedules, lookback_range
from reporting_assets.defs.automation.sensors import SourceCursor, build_source_change_sensor, contiguous_ranges
from reporting_assets.defs.resources import BillingSourceResource, ReportingPolicyResource
from reporting_assets.defs.run_user import launched_by
from reporting_assets.warehouse.retention import RULES, apply_retention, delete_older_than
from reporting_assets_tests.conftest import (
    ASSETS,
    fake_patient,
    make_resources,
    make_settings,
    materialize_current,
    materialize_days,
    query,
    write_source,
)

# the platform as a UTC clinic builds it (resources unused: tests bind their own)
DEFS = build_definitions(make_settings("postgresql://unused@localhost/unused", "unused.db", "unused"))

INVOICES = [(10, "INV-2026-000010", 1, "2026-02-01", "2026-03-03", 500.00, "open")]
PAYMENTS = [
    (1, 10, 1, "2026-03-02", 10, "paid", "card"),
    (2, 10, 1, "2026-03-04", 20, "paid", "card"),
    (3, 10, 1, "2026-03-06", 30, "pending", "card"),
]


@pytest.fixture
def source(tmp_path):
    return write_source(tmp_path / "clinic.db", [fake_patient(1)], INVOICES, PAYMENTS)


@pytest.fixture
def resources(database_url, source, tmp_path):
    return make_resources(database_url, source, tmp_path / "home")


def sensor_resources(resources):
    return {k: resources[k] for k in ("billing_source", "warehouse", "policy")}


def tick(resources, cursor, settings=None):
    settings = settings or make_settings("postgresql://unused@localhost/unused", "unused.db", "unused")
    context = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), cursor=cursor, resources=sensor_resources(resources))
    return build_source_change_sensor(settings)(context)


def requested(result):
    """{job: [(first, last)]} of a sensor result's run requests."""
    out = {}
    for request in result.run_requests or []:
        span = (request.tags.get("dagster/asset_partition_range_start"), request.tags.get("dagster/asset_partition_range_end"))
        out.setdefault(request.job_name, []).append(span)
    return out


def change(source, statement, params=()):
    con = sqlite3.connect(source)
    con.execute(statement, params)
    con.commit()
    con.close()


@pytest.fixture
def primed(resources, source):
    """Days materialized and the sensor's baseline cursor recorded."""
    materialize_days(resources, "2026-03-01", "2026-03-20")
    first = tick(resources, None)
    assert not first.run_requests and "current state" in first.skip_reason.skip_message
    return first.cursor


def test_nothing_new(resources, primed):
    result = tick(resources, primed)
    assert not result.run_requests
    assert "No source payment or invoice changed" in result.skip_reason.skip_message


def test_new_payment_requests_its_day(resources, source, primed):
    change(source, "INSERT INTO payments VALUES (4, 10, 1, '2026-03-10T15:00:00', 5, 'paid', 'card', '2026-03-20T10:00:00', '2026-03-20T10:00:00')")
    result = tick(resources, primed)
    assert requested(result) == {"daily_facts_job": [("2026-03-10", "2026-03-10")], "outstanding_job": [(None, None)]}


def test_moved_payment_requests_both_days(resources, source, primed):
    change(source, "UPDATE payments SET payment_date = '2026-03-08', updated_at = '2026-03-20T11:00:00' WHERE id = 2")
    result = tick(resources, primed)
    assert requested(result)["daily_facts_job"] == [("2026-03-04", "2026-03-04"), ("2026-03-08", "2026-03-08")]


def test_deleted_payment_requests_its_day(resources, source, primed):
    change(source, "DELETE FROM payments WHERE id = 3")
    result = tick(resources, primed)
    assert requested(result) == {"daily_facts_job": [("2026-03-06", "2026-03-06")], "outstanding_job": [(None, None)]}


def test_insert_and_delete_in_one_tick_are_both_seen(resources, source, primed):
    change(source, "DELETE FROM payments WHERE id = 1")
    change(source, "INSERT INTO payments VALUES (5, 10, 1, '2026-03-12', 5, 'paid', 'card', '2026-03-20T12:00:00', '2026-03-20T12:00:00')")
    assert requested(tick(resources, primed))["daily_facts_job"] == [("2026-03-02", "2026-03-02"), ("2026-03-12", "2026-03-12")]


def test_invoice_change_requests_its_payments_days_and_outstanding(resources, source, primed):
    change(source, "UPDATE invoices SET invoice_number = 'INV-2026-RENUMBERED', updated_at = '2026-03-20T09:30:00' WHERE id = 10")
    assert requested(tick(resources, primed)) == {
        "daily_facts_job": [("2026-03-02", "2026-03-02"), ("2026-03-04", "2026-03-04"), ("2026-03-06", "2026-03-06")],
        "outstanding_job": [(None, None)],
    }


def test_new_patient_requests_the_days_of_payments_waiting_for_one(resources, source, database_url):
    change(source, "INSERT INTO payments VALUES (40, NULL, 9, '2026-03-09', 5, 'paid', 'card', '2026-01-01T09:00:00', '2026-01-01T09:00:00')")
    materialize_days(resources, "2026-03-01", "2026-03-20")
    assert query(database_url, "SELECT partition_key, reasons FROM reporting.quarantine WHERE source_id = 40") == [("2026-03-09", ["no resolvable patient"])]
    cursor = tick(resources, None).cursor
    change(source, "INSERT INTO patients VALUES (9, 'Testfirst0009', 'Fakelast0009', NULL, NULL, NULL, NULL, NULL, NULL, '2026-03-20T09:00:00', '2026-03-20T09:00:00')")
    assert requested(tick(resources, cursor)) == {"daily_facts_job": [("2026-03-09", "2026-03-09")]}


def test_cursor_survives_restart(resources, source, primed):
    change(source, "INSERT INTO payments VALUES (4, 10, 1, '2026-03-11', 5, 'paid', 'card', '2026-03-20T10:00:00', '2026-03-20T10:00:00')")
    first = tick(resources, primed)
    # a new sensor process starts from the stored cursor string: the same change is not requested again
    restarted = tick(resources, SourceCursor.loads(first.cursor).dumps())
    assert not restarted.run_requests
    change(source, "INSERT INTO payments VALUES (6, 10, 1, '2026-03-12', 5, 'paid', 'card', '2026-03-20T10:00:00', '2026-03-20T10:00:00')")
    # same updated_at as the cursor, new id: still seen exactly once
    assert requested(tick(resources, first.cursor))["daily_facts_job"] == [("2026-03-12", "2026-03-12")]


def test_more_changes_than_one_tick_reads_share_one_updated_at(resources, source, primed, monkeypatch):
    monkeypatch.setattr(sensors, "MAX_CHANGES_PER_TICK", 2)
    change(source, "UPDATE payments SET updated_at = '2026-03-20T10:00:00'")  # a bulk update: 3 rows, one timestamp
    change(source, "INSERT INTO payments VALUES (7, 10, 1, '2026-03-14', 5, 'paid', 'card', '2026-03-20T10:00:00', '2026-03-20T10:00:00')")
    cursor, days = primed, set()
    for _ in range(3):
        result = tick(resources, cursor)
        days |= {span for span in requested(result).get("daily_facts_job", [])}
        cursor = result.cursor
    assert {first for first, _ in days} == {"2026-03-02", "2026-03-04", "2026-03-06", "2026-03-14"}
    assert not tick(resources, cursor).run_requests


def test_deletion_is_seen_even_when_a_tick_is_cut_off(resources, source, primed, monkeypatch):
    monkeypatch.setattr(sensors, "MAX_CHANGES_PER_TICK", 1)
    change(source, "DELETE FROM payments WHERE id = 1")
    for new_id in (20, 21, 22):
        change(source, f"INSERT INTO payments VALUES ({new_id}, 10, 1, '2026-03-15', 5, 'paid', 'card', '2026-03-20T10:00:0{new_id - 20}', '2026-03-20T10:00:00')")
    assert ("2026-03-02", "2026-03-02") in requested(tick(resources, primed))["daily_facts_job"]


def test_an_undated_row_does_not_hide_a_deletion_on_its_day(resources, source, primed):
    change(source, "INSERT INTO payments VALUES (30, 10, 1, '2026-03-04 garbage', 5, 'paid', 'card', '2026-03-20T10:00:00', '2026-03-20T10:00:00')")
    cursor = tick(resources, primed).cursor
    change(source, "DELETE FROM payments WHERE id = 2")  # the 2026-03-04 payment
    assert ("2026-03-04", "2026-03-04") in requested(tick(resources, cursor))["daily_facts_job"]


def test_tick_evaluated_twice_has_stable_run_keys(resources, source, primed):
    change(source, "INSERT INTO payments VALUES (4, 10, 1, '2026-03-10', 5, 'paid', 'card', '2026-03-20T10:00:00', '2026-03-20T10:00:00')")
    keys = [sorted(r.run_key for r in tick(resources, primed).run_requests) for _ in range(2)]
    assert keys[0] == keys[1] and len(keys[0]) == 2


def test_missing_source_skips_with_a_sentence(resources, tmp_path, primed):
    broken = dict(resources, billing_source=BillingSourceResource(path=str(tmp_path / "gone.db")))
    result = tick(broken, primed)
    message = result.skip_message if hasattr(result, "skip_message") else result.skip_reason.skip_message
    assert "REPORTING_SOURCE_DB" in message


def test_sensor_requested_run_reflects_the_change(resources, source, primed, database_url):
    change(source, "UPDATE payments SET payment_date = '2026-03-08', updated_at = '2026-03-20T11:00:00' WHERE id = 2")
    for first, last in requested(tick(resources, primed))["daily_facts_job"]:
        materialize_days(resources, first, last)
    rows = query(database_url, "SELECT payment_date::text FROM reporting.patient_payment_history WHERE source_payment_id = 2")
    assert rows == [("2026-03-08",)]
    revenue = dict(query(database_url, "SELECT date_key::text, payment_count FROM reporting.revenue_metrics WHERE date_key IN ('2026-03-04', '2026-03-08')"))
    assert revenue == {"2026-03-04": 0, "2026-03-08": 1}


def test_contiguous_ranges():
    d = dt.date
    assert contiguous_ranges([d(2026, 3, 3), d(2026, 3, 1), d(2026, 3, 2), d(2026, 3, 9)]) == [(d(2026, 3, 1), d(2026, 3, 3)), (d(2026, 3, 9), d(2026, 3, 9))]


# --------------------------------------------------------------------------- schedules
def test_daily_schedule_requests_the_lookback_days_in_one_run():
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 3, 20, 2, 0, tzinfo=ZoneInfo("UTC")))
    schedules = {s.name: s for s in build_schedules(make_settings("postgresql://unused@localhost/unused", "unused.db", "unused"))}
    request = schedules["daily_facts_schedule"](context)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-03-18"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-03-20"
    assert request.run_key == "daily:2026-03-20"


def test_lookback_uses_the_clinic_date_not_utc():
    # 02:00 on 20 March in Auckland is still 19 March in UTC
    scheduled = dt.datetime(2026, 3, 20, 2, 0, tzinfo=ZoneInfo("Pacific/Auckland"))
    assert scheduled.astimezone(dt.timezone.utc).date() == dt.date(2026, 3, 19)
    assert lookback_range(scheduled, 3, dt.date(2025, 1, 1)) == (dt.date(2026, 3, 18), dt.date(2026, 3, 20))
    assert lookback_range(scheduled, 3, dt.date(2026, 3, 19)) == (dt.date(2026, 3, 19), dt.date(2026, 3, 20))


def test_schedules_run_in_the_configured_time_zone():
    schedules = {s.name: s for s in DEFS.schedules}
    assert set(schedules) == {"daily_facts_schedule", "outstanding_schedule", "retention_schedule"}
    assert all(s.execution_timezone == "UTC" for s in schedules.values())
    assert schedules["retention_schedule"].cron_schedule.split()[2] == "1"


# --------------------------------------------------------------------------- run status
def status_rows(url):
    return {r[0]: r[1:] for r in query(url, "SELECT dagster_run_id, process_name, status, records_processed, error_message, completed_at >= started_at FROM reporting.etl_process_status")}


def test_successful_run_is_completed_with_rows_written(resources, database_url):
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_days(resources, "2026-03-01", "2026-03-10", instance=instance)
    written, _ = record_runs(instance, resources["warehouse"], None)
    assert written == 1
    name, status, records, error, ordered = status_rows(database_url)[result.run_id]
    # 3 staged payments + 3 history rows + 10 revenue days
    assert (status, records, error, ordered) == ("completed", 16, None, True)
    assert name == "assets:patient_payment_history,revenue_metrics,staged_payments [2026-03-01...2026-03-10]"


def test_failed_run_records_the_error_without_pii(resources, database_url, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    broken = dict(resources, billing_source=BillingSourceResource(path=str(tmp_path / "missing.db")))
    result = materialize_current(broken, instance=instance, raise_on_error=False)
    assert not result.success
    record_runs(instance, resources["warehouse"], None)
    _, status, records, error, ordered = status_rows(database_url)[result.run_id]
    assert status == "failed" and records == 0 and ordered
    assert "does not exist; set REPORTING_SOURCE_DB" in error


def test_cancelled_run_is_stopped_and_reevaluation_adds_nothing(resources, database_url):
    instance = dg.DagsterInstance.ephemeral()
    job = DEFS.resolve_job_def("outstanding_job")
    run = instance.create_run_for_job(job_def=job, run_id=str(uuid.uuid4()), tags={"dagster/schedule_name": "outstanding_schedule"})
    instance.report_run_canceling(run)
    instance.report_run_canceled(run)
    for _ in range(2):
        record_runs(instance, resources["warehouse"], None)
    rows = status_rows(database_url)
    assert list(rows) == [run.run_id]
    assert rows[run.run_id][:2] == ("outstanding_job", "stopped")


def test_started_run_is_running_then_completed(resources, database_url):
    instance = dg.DagsterInstance.ephemeral()
    job = DEFS.resolve_job_def("outstanding_job")
    run = instance.create_run_for_job(job_def=job, run_id=str(uuid.uuid4()))
    instance.handle_run_event(run.run_id, dg.DagsterEvent(event_type_value="PIPELINE_START", job_name=job.name))
    record_runs(instance, resources["warehouse"], None)
    assert status_rows(database_url)[run.run_id][1] == "running"
    instance.handle_run_event(run.run_id, dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name=job.name))
    record_runs(instance, resources["warehouse"], None)
    assert status_rows(database_url)[run.run_id][1] == "completed"
    assert query(database_url, "SELECT count(*) FROM reporting.etl_process_status")[0][0] == 1


# --------------------------------------------------------------------------- audit
def test_audit_user_from_run_tags():
    assert launched_by({"dagster/user": "ana@clinic.example"}) == "ana@clinic.example"
    assert launched_by({"dagster/schedule_name": "daily_facts_schedule"}) == "system:schedule:daily_facts_schedule"
    assert launched_by({"dagster/sensor_name": "source_change_sensor"}) == "system:sensor:source_change_sensor"
    assert launched_by({}).startswith("local:")


def test_each_materialization_is_audited_with_its_launcher(resources, database_url):
    dg.materialize(
        ASSETS,
        resources=resources,
        selection=["staged_payments", "patient_payment_history", "revenue_metrics"],
        tags={"dagster/asset_partition_range_start": "2026-03-01", "dagster/asset_partition_range_end": "2026-03-05", "dagster/sensor_name": "source_change_sensor"},
    )
    rows = query(database_url, "SELECT user_id, action, resource_type, resource_id, row_count FROM reporting.audit_log ORDER BY resource_id")
    assert rows == [
        ("system:sensor:source_change_sensor", "materialize", "asset", "patient_payment_history/2026-03-01...2026-03-05", 2),
        ("system:sensor:source_change_sensor", "materialize", "asset", "revenue_metrics/2026-03-01...2026-03-05", 5),
    ]


# --------------------------------------------------------------------------- retention
def test_retention_removes_exactly_the_rows_past_each_window_and_logs_them(database_url):
    today = dt.date(2026, 3, 20)
    old, kept = "2025-03-19", "2025-03-20"  # 366 and 365 days before today
    query(database_url, "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES (%s, 1, 1, 1), (%s, 1, 1, 1)", (old, kept))
    query(database_url, "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id) VALUES ('pt_a', %s, 1, 'paid', 1), ('pt_a', %s, 1, 'paid', 2), ('pt_a', %s, 1, 'paid', 3)", (old, old, kept))
    query(database_url, "INSERT INTO reporting.outstanding_payments (patient_id, invoice_id, amount_due, days_overdue, payment_status, updated_at) VALUES ('pt_a', 'INV-1', 1, 1, 'overdue', %s), ('pt_a', 'INV-2', 1, 1, 'overdue', %s)", (old, kept))
    query(database_url, "INSERT INTO reporting.etl_process_status (process_name, status, started_at) VALUES ('j', 'completed', '2025-09-17'), ('j', 'completed', '2025-09-18')")  # 184 and 183 days
    query(database_url, "INSERT INTO reporting.audit_log (user_id, action, resource_type, timestamp) VALUES ('u', 'materialize', 'asset', %s), ('u', 'materialize', 'asset', %s)", (old, kept))
    query(database_url, "INSERT INTO reporting.quarantine (source_table, source_id, asset_key, dagster_run_id, reasons, quarantined_at) VALUES ('payments', 1, 'staged_payments', 'r', '{x}', %s)", (old,))
    query(database_url, "INSERT INTO staging.payment_day_counts (day, staged, quarantined, replica_version) VALUES (%s, 2, 0, 7), (%s, 1, 0, 7)", (old, kept))
    query(database_url, "INSERT INTO staging.history_days (day, staged_run_id, code_version) VALUES (%s, 'r', 'c'), (%s, 'r', 'c')", (old, kept))
    cutoffs = ReportingPolicyResource(as_of_date=today.isoformat()).retention_cutoffs()
    removed = apply_retention(database_url, cutoffs, "system:schedule:retention_schedule", None)
    assert removed == {
        "reporting.revenue_metrics": 1,
        "reporting.patient_payment_history": 2,
        "staging.history_days": 1,
        "staging.payment_day_counts": 1,
        "staging.payments": 0,
        "reporting.outstanding_payments": 1,
        "reporting.quarantine": 1,
        "reporting.etl_process_status": 1,
        "reporting.audit_log": 1,
    }
    assert query(database_url, "SELECT date_key::text FROM reporting.revenue_metrics") == [(kept,)]
    assert query(database_url, "SELECT count(*) FROM reporting.patient_payment_history")[0][0] == 1
    assert query(database_url, "SELECT day::text FROM staging.payment_day_counts") == [(kept,)]
    assert query(database_url, "SELECT day::text FROM staging.history_days") == [(kept,)]
    logged = dict(query(database_url, "SELECT resource_id, row_count FROM reporting.audit_log WHERE action = 'retention_cleanup'"))
    assert logged == removed
    assert query(database_url, "SELECT DISTINCT user_id FROM reporting.audit_log WHERE action = 'retention_cleanup'") == [("system:schedule:retention_schedule",)]


def test_retention_deletes_in_batches(database_url):
    query(database_url, "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id) SELECT 'pt_a', '2024-01-01', 1, 'paid', g FROM generate_series(1, 1234) g")
    rule = next(r for r in RULES if r.table == "reporting.patient_payment_history")
    assert delete_older_than(database_url, rule, dt.date(2025, 1, 1), batch_rows=100) == 1234
    assert query(database_url, "SELECT count(*) FROM reporting.patient_payment_history")[0][0] == 0


# --------------------------------------------------------------------------- source observation
def observed_versions(resources, instance):
    from dagster._core.definitions.observe import observe  # not re-exported at the top level in 1.13

    from reporting_assets.defs.billing_source.assets import observe_billing_source

    result = observe([observe_billing_source], resources={"billing_source": resources["billing_source"]}, instance=instance)
    assert result.success
    return {
        event.asset_key.path[-1]: event.event_specific_data.asset_observation.data_version
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.ASSET_OBSERVATION
    }


def test_source_data_versions_change_only_when_rows_change(resources, source):
    instance = dg.DagsterInstance.ephemeral()
    first = observed_versions(resources, instance)
    assert set(first) == {"patients", "invoices", "payments"}
    assert observed_versions(resources, instance) == first
    change(source, "UPDATE payments SET amount = 11, updated_at = '2026-03-20T08:00:00' WHERE id = 1")
    second = observed_versions(resources, instance)
    assert second["payments"] != first["payments"]
    assert (second["patients"], second["invoices"]) == (first["patients"], first["invoices"])


def test_the_sensor_observes_exactly_the_source_tables_that_changed(resources, source, primed):
    def observed(result):
        return {
            event.asset_key.path[-1]: event.tags["dagster/data_version"]
            for event in result.asset_events
            if isinstance(event, dg.AssetObservation)
        }

    first = tick(resources, None)
    baseline = observed(first)
    assert set(baseline) == {"patients", "invoices", "payments"}  # the first tick observes every table
    idle = tick(resources, first.cursor)
    assert observed(idle) == {}
    change(source, "UPDATE payments SET amount = 11, updated_at = '2026-03-20T08:00:00' WHERE id = 1")
    changed = observed(tick(resources, first.cursor))
    assert set(changed) == {"payments"} and changed["payments"] != baseline["payments"]


def test_status_sensor_tick_with_nothing_new_says_so(resources, database_url):
    from reporting_assets.defs.automation.run_status import etl_process_status_sensor

    instance = dg.DagsterInstance.ephemeral()
    materialize_current(resources, instance=instance)

    def tick(cursor):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": resources["warehouse"]})
        result = etl_process_status_sensor(context)
        return result.skip_message, context.cursor

    message, cursor = tick(None)
    assert message == "Recorded the status of 1 runs in reporting.etl_process_status."
    for _ in range(2):  # the next ticks re-read the last second: the same finished run writes nothing
        message, cursor = tick(cursor)
        assert message == "No run started or finished since the last tick."
    assert query(database_url, "SELECT count(*) FROM reporting.etl_process_status")[0][0] == 1
