"""A clinic in America/New_York, end to end: its partitions, its "today", its schedules and its sensor.

Every other test pins "today" and runs a UTC clinic, so a hard-coded UTC anywhere would pass
them. Here the settings say America/New_York (REPORTING_TIMEZONE through make_settings) and
the platform is built from them the one way it is built (build_definitions, build_schedules,
build_source_change_sensor). The US change to daylight saving time on 2026-03-08 (02:00 EST
-> 03:00 EDT: a 23-hour day) sits in the middle of the scenario.
"""

import datetime as dt
import sqlite3
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from reporting_assets.definitions import build_definitions
from reporting_assets.defs.automation.schedules import build_schedules
from reporting_assets.defs.automation.sensors import build_source_change_sensor
from reporting_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, daily_partitions
from reporting_assets.defs.resources import ReportingPolicyResource, build_resources
from reporting_assets_tests.conftest import CURRENT, DAILY, fake_patient, make_settings, query, write_source

NEW_YORK = "America/New_York"
NY = ZoneInfo(NEW_YORK)
UTC = ZoneInfo("UTC")
DST_DAY = dt.date(2026, 3, 8)  # 02:00 EST becomes 03:00 EDT
AS_OF = dt.date(2026, 3, 10)


def clinic_settings(database_url="postgresql://unused@localhost/unused", source="unused.db", home="unused"):
    return make_settings(database_url, source, home, timezone=NEW_YORK)


# ------------------------------------------------------------------ today
@pytest.mark.parametrize("zone", [NEW_YORK, "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
def test_today_is_the_date_in_the_clinic_zone(zone):
    before = dt.datetime.now(ZoneInfo(zone)).date()
    today = ReportingPolicyResource(timezone=zone).today()
    after = dt.datetime.now(ZoneInfo(zone)).date()
    assert today in (before, after)  # midnight may pass during the call


def test_today_follows_the_zone_not_the_machine_clock():
    # UTC+14 and UTC-11 are 25 hours apart: their dates always differ, so a hard-coded zone cannot match both
    east = ReportingPolicyResource(timezone="Pacific/Kiritimati").today()
    west = ReportingPolicyResource(timezone="Pacific/Pago_Pago").today()
    assert (east - west).days in (1, 2)


def test_the_settings_reach_the_policy_and_an_unpinned_today_is_the_clinic_s():
    policy = build_resources(clinic_settings())["policy"]
    assert policy.timezone == NEW_YORK and policy.as_of_date == ""
    before = dt.datetime.now(NY).date()
    today = policy.today()
    assert today in (before, dt.datetime.now(NY).date())


# ------------------------------------------------------------------ partitions and schedules
def test_partitions_are_new_york_days_and_the_dst_day_has_23_hours():
    defs = build_definitions(clinic_settings())
    partitions = {key: defs.resolve_assets_def(key).partitions_def for key in ("patient_payment_history", "revenue_metrics", "staged_payments")}
    assert {p.timezone for p in partitions.values()} == {NEW_YORK}
    window = daily_partitions(clinic_settings()).time_window_for_partition_key(DST_DAY.isoformat())
    assert window.start == dt.datetime(2026, 3, 8, 0, 0, tzinfo=NY) and window.start.utcoffset() == dt.timedelta(hours=-5)
    assert window.end == dt.datetime(2026, 3, 9, 0, 0, tzinfo=NY) and window.end.utcoffset() == dt.timedelta(hours=-4)
    assert window.end.timestamp() - window.start.timestamp() == 23 * 3600


def test_schedules_tick_at_the_clinic_s_local_time_across_the_dst_change():
    schedules = {s.name: s for s in build_schedules(clinic_settings())}
    assert {name: s.execution_timezone for name, s in schedules.items()} == {
        "daily_facts_schedule": NEW_YORK,
        "outstanding_schedule": NEW_YORK,
        "retention_schedule": NEW_YORK,
    }
    daily = schedules["daily_facts_schedule"]
    ticks = cron_string_iterator(dt.datetime(2026, 3, 6, tzinfo=NY).timestamp(), daily.cron_schedule, daily.execution_timezone)
    utc_ticks = [next(ticks).astimezone(UTC) for _ in range(4)]
    # 02:00 EST is 07:00 UTC; on the DST day 02:00 does not exist and the tick runs at 03:00 EDT; then 02:00 EDT is 06:00 UTC
    assert utc_ticks == [
        dt.datetime(2026, 3, 6, 7, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 7, 7, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 9, 6, 0, tzinfo=UTC),
    ]
    monthly = schedules["retention_schedule"]
    first = next(cron_string_iterator(dt.datetime(2026, 3, 15, tzinfo=NY).timestamp(), monthly.cron_schedule, monthly.execution_timezone))
    assert first.astimezone(NY).replace(tzinfo=None) == dt.datetime(2026, 4, 1, 3, 0)


@pytest.mark.parametrize(
    "scheduled, last_day",
    [
        (dt.datetime(2026, 3, 8, 3, 0, tzinfo=NY), "2026-03-08"),  # the DST day's tick
        (dt.datetime(2026, 3, 9, 2, 0, tzinfo=NY), "2026-03-09"),
        # the same instant as 2026-03-08 23:30 EDT, as a UTC time: still the clinic's 8 March
        (dt.datetime(2026, 3, 9, 3, 30, tzinfo=UTC), "2026-03-08"),
    ],
)
def test_the_daily_schedule_requests_the_clinic_s_days(scheduled, last_day):
    schedule = next(s for s in build_schedules(clinic_settings()) if s.name == "daily_facts_schedule")
    request = schedule(dg.build_schedule_context(scheduled_execution_time=scheduled))
    last = dt.date.fromisoformat(last_day)
    first = last - dt.timedelta(days=clinic_settings().lookback_days - 1)
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (first.isoformat(), last_day)


# ------------------------------------------------------------------ payments around the DST change
PAYMENTS = [
    (1, 10, 1, "2026-03-07T23:30:00", 10, "paid", "card"),  # 23:30 EST the evening before the change (04:30 UTC on the 8th)
    (2, 10, 1, "2026-03-09T23:30:00-04:00", 20, "paid", "card"),  # 23:30 EDT the day after (03:30 UTC on the 10th)
]
INVOICES = [
    (10, "INV-2026-000010", 1, "2026-02-01", "2026-03-07", 100.00, "open"),  # due before the change
    (11, "INV-2026-000011", 1, "2026-02-01", "2026-03-08", 50.00, "open"),  # due on the 23-hour day
    (12, "INV-2026-000012", 1, "2026-02-01", "2026-03-09", 50.00, "open"),  # due the day after the change
]


@pytest.fixture
def clinic(database_url, tmp_path):
    source = write_source(tmp_path / "clinic.db", [fake_patient(1)], INVOICES, PAYMENTS)
    settings = clinic_settings(database_url, source, tmp_path / "home")
    defs = build_definitions(settings, as_of=AS_OF)
    return settings, source, list(defs.assets), build_resources(settings, as_of=AS_OF)


def materialize(assets, resources, selection, first=None, last=None):
    tags = {RANGE_START_TAG: first, RANGE_END_TAG: last} if first else None
    result = dg.materialize(assets, resources=resources, selection=selection, tags=tags)
    assert result.success
    return result


def test_payments_at_2330_local_either_side_of_the_dst_change_count_on_their_local_day(clinic, database_url):
    _, _, assets, resources = clinic
    materialize(assets, resources, DAILY, "2026-03-06", "2026-03-10")
    assert query(database_url, "SELECT source_payment_id, payment_date::text FROM reporting.patient_payment_history ORDER BY 1") == [
        (1, "2026-03-07"),
        (2, "2026-03-09"),
    ]
    revenue = query(database_url, "SELECT date_key::text, payment_count, total_revenue::text FROM reporting.revenue_metrics ORDER BY 1")
    assert revenue == [
        ("2026-03-06", 0, "0.00"),
        ("2026-03-07", 1, "10.00"),
        ("2026-03-08", 0, "0.00"),
        ("2026-03-09", 1, "20.00"),
        ("2026-03-10", 0, "0.00"),
    ]


def test_days_overdue_count_calendar_days_across_the_dst_change(clinic, database_url):
    _, _, assets, resources = clinic
    materialize(assets, resources, DAILY, "2026-03-06", "2026-03-10")
    materialize(assets, resources, CURRENT)
    rows = query(database_url, "SELECT invoice_id, days_overdue, amount_due::text, last_payment_date::text FROM reporting.outstanding_payments ORDER BY 1")
    assert rows == [
        ("INV-2026-000010", 3, "70.00", "2026-03-09"),  # 7 -> 10 March: 3 days though only 71 hours passed
        ("INV-2026-000011", 2, "50.00", None),  # 8 -> 10 March: 2 days (47 hours)
        ("INV-2026-000012", 1, "50.00", None),
    ]


def test_the_sensor_puts_a_payment_without_zone_on_its_written_day(clinic):
    settings, source, assets, resources = clinic
    materialize(assets, resources, DAILY, "2026-03-06", "2026-03-10")
    sensor = build_source_change_sensor(settings)
    sensor_resources = {k: resources[k] for k in ("billing_source", "warehouse", "policy")}

    def tick(cursor):
        context = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), cursor=cursor, resources=sensor_resources)
        return sensor(context)

    cursor = tick(None).cursor
    con = sqlite3.connect(source)
    # 23:30 local on the DST day, no zone: 03:30 UTC on the 9th, but the clinic's 8 March
    con.execute("INSERT INTO payments VALUES (3, 10, 1, '2026-03-08T23:30:00', 5, 'paid', 'card', '2026-03-10T09:00:00', '2026-03-10T09:00:00')")
    con.commit()
    con.close()
    result = tick(cursor)
    spans = sorted((r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in result.run_requests if r.job_name == "daily_facts_job")
    assert spans == [("2026-03-08", "2026-03-08")]
    assert [r.job_name for r in result.run_requests if r.job_name != "daily_facts_job"] == ["outstanding_job"]
