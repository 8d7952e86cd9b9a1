"""The dimensions of the star schema from a small hand-written source, against values worked out by hand.

Clinic "today" is 2026-03-20 (retention 365 days): dim_date runs 2025-03-20...2027-03-20.
"""

import datetime as dt
import re
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from decimal import Decimal as D
from pathlib import Path

import dagster as dg
import pytest

from reporting_assets.api.accounts import save_api_user
from reporting_assets.dates import DateWindow, calendar_day
from reporting_assets.definitions import build_definitions
from reporting_assets.defs.partitions import partition_range_tags
from reporting_assets.defs.reporting import dim_patient as dim_patient_asset, materialization, outstanding_payments
from reporting_assets.defs.reporting.dim_date import one_year_after
from reporting_assets.defs.reporting.referential_checks import REFERENCES, FactRows, orphans
from reporting_assets.warehouse import copy_out, patient_changes, retention
from reporting_assets.warehouse.database import connect as connect_warehouse
from reporting_assets.warehouse.writer import merge_rows_from_select
from reporting_assets.warehouse.migrations import apply_migrations
from reporting_assets_tests.conftest import (
    ASSETS,
    CURRENT,
    DAILY,
    fake_patient,
    make_resources,
    make_settings,
    materialize_current,
    materialize_days,
    migrate_up_to,
    pseudonym,
    query,
    write_source,
)
from reporting_assets_tests.test_access_control import as_user, connect, login_users, refused  # noqa: F401 (fixture)

DIMENSIONS = ["dim_date", "dim_patient", "dim_user"]
CHECKS = list(build_definitions(make_settings("postgresql://unused@localhost/unused", "unused.db", "unused")).asset_checks or [])
P1, P2, P3, P4 = (pseudonym(i) for i in (1, 2, 3, 4))
ORPHAN = "pt_" + "f" * 32

INVOICES = [
    (10, "INV-10", 1, "2026-01-05", "2026-02-04", 100.00, "open"),
    (11, "INV-11", 1, "2025-12-01", "2025-12-31", 50.00, "paid"),
    (12, "INV-12", 2, "2026-02-01", "2026-03-03", 30.00, "open"),
    (13, "INV-13", 3, "2026-03-01", "2026-04-30", 20.00, "open"),  # not due yet
    (14, "INV-14", 4, "2026-01-10", "2026-02-09", 15.00, "open"),  # overdue, never paid
]
PAYMENTS = [
    (100, 10, 1, "2026-03-02", 40.00, "paid", "card"),
    (101, 10, 1, "2026-03-05", "10.005", "paid", "card"),
    (102, 11, 1, "2026-03-03", 50.00, "paid", "card"),
    (103, 10, 1, "2026-03-06", 5.00, "failed", "card"),
    (104, 12, 2, "2026-03-04", 30.00, "refunded", "card"),  # P2's only payment
    (105, 13, 3, "2026-03-10", 20.00, "pending", "ach"),
]
PATIENT_COLUMNS = [
    "patient_id", "first_payment_date", "last_payment_date", "first_invoice_date",
    "paid_count", "paid_amount", "pending_count", "pending_amount", "failed_count", "failed_amount",
    "refunded_count", "refunded_amount", "amount_outstanding",
]  # fmt: skip
EXPECTED_PATIENTS = {
    # P1: INV-10 has 50.01 paid of 100.00; INV-11 is paid
    P1: (dt.date(2026, 3, 2), dt.date(2026, 3, 6), dt.date(2025, 12, 1), 3, D("100.01"), 0, D("0.00"), 1, D("5.00"), 0, D("0.00"), D("49.99")),
    # P2: a refund is not a payment of the invoice
    P2: (dt.date(2026, 3, 4), dt.date(2026, 3, 4), dt.date(2026, 2, 1), 0, D("0.00"), 0, D("0.00"), 0, D("0.00"), 1, D("30.00"), D("30.00")),
    P3: (dt.date(2026, 3, 10), dt.date(2026, 3, 10), dt.date(2026, 3, 1), 0, D("0.00"), 1, D("20.00"), 0, D("0.00"), 0, D("0.00"), D("0.00")),
    # P4 appears in outstanding_payments only
    P4: (None, None, dt.date(2026, 1, 10), 0, D("0.00"), 0, D("0.00"), 0, D("0.00"), 0, D("0.00"), D("15.00")),
}


# dim_patient's build_from when it compared its rows with the invoices and balances; the requests for that
COMPARED = "recorded changes and the patients whose invoices or balance differ"
REQUESTS = "SELECT asset_key FROM staging.patient_comparison_requests ORDER BY 1"


@pytest.fixture
def source(tmp_path):
    return write_source(tmp_path / "clinic.db", [fake_patient(i) for i in (1, 2, 3, 4)], INVOICES, PAYMENTS)


@pytest.fixture
def built(database_url, source, tmp_path):
    """The whole pipeline as the jobs run it: current state, then the days with the dimensions."""
    resources = make_resources(database_url, source, tmp_path / "home", fiscal_year_start_month=7)
    assert materialize_current(resources).success
    assert materialize_days(resources, "2026-03-01", "2026-03-20", selection=DAILY + DIMENSIONS).success
    return resources


def dim_date_row(url: str, day: str) -> dict:
    columns = [c for (c,) in query(url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'dim_date' ORDER BY ordinal_position")]
    (row,) = query(url, "SELECT * FROM reporting.dim_date WHERE date_key = %s", (day,))
    return dict(zip(columns, row))


def run_checks(resources: dict, asset: str, instance: dg.DagsterInstance, tags: dict | None = None) -> dict[str, dg.AssetCheckEvaluation]:
    """Run only the referential checks of ``asset`` (as a job's check steps do; with ``tags``, in a run over
    their days) and return their evaluations by name."""
    keys = [dg.AssetCheckKey(dg.AssetKey(r.dimension), r.check_name) for r in REFERENCES if r.dimension == asset]
    selection = dg.AssetSelection.checks(*keys)
    result = dg.materialize(ASSETS + CHECKS, resources=resources, selection=selection, instance=instance, tags=tags, raise_on_error=False)
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


# ------------------------------------------------------------------ dim_date
def test_dim_date_covers_the_reporting_range_with_iso_weeks_and_a_july_fiscal_year(built, database_url):
    assert query(database_url, "SELECT min(date_key), max(date_key), count(*) FROM reporting.dim_date") == [
        (dt.date(2025, 3, 20), dt.date(2027, 3, 20), 731)
    ]
    # 2026 starts on a Thursday, so it has an ISO week 53, which 1 January 2027 still belongs to
    assert dim_date_row(database_url, "2026-12-31") | {"dagster_run_id": None} == {
        "date_key": dt.date(2026, 12, 31), "year": 2026, "quarter": 4, "month": 12, "month_name": "December",
        "iso_year": 2026, "iso_week": 53, "day_of_week": 4, "day_name": "Thursday", "is_weekend": False,
        "week_start": dt.date(2026, 12, 28), "week_end": dt.date(2027, 1, 3),
        "month_start": dt.date(2026, 12, 1), "month_end": dt.date(2026, 12, 31),
        "fiscal_year": 2027, "fiscal_quarter": 2, "dagster_run_id": None,
    }  # fmt: skip
    new_year = dim_date_row(database_url, "2027-01-01")
    assert (new_year["year"], new_year["iso_year"], new_year["iso_week"], new_year["day_name"]) == (2027, 2026, 53, "Friday")
    assert (new_year["fiscal_year"], new_year["fiscal_quarter"]) == (2027, 3)
    # the July fiscal year: 30 June closes FY2026, 1 July opens FY2027
    assert [(r["fiscal_year"], r["fiscal_quarter"]) for r in map(lambda d: dim_date_row(database_url, d), ["2026-06-30", "2026-07-01"])] == [(2026, 4), (2027, 1)]
    saturday = dim_date_row(database_url, "2026-03-21")
    assert (saturday["day_of_week"], saturday["is_weekend"], saturday["month_end"]) == (6, True, dt.date(2026, 3, 31))


def test_the_calendar_knows_leap_days_and_a_january_fiscal_year_is_the_calendar_year():
    leap = calendar_day(dt.date(2028, 2, 29), 1)
    assert {k: leap[k] for k in ("year", "quarter", "month_name", "iso_year", "iso_week", "day_of_week", "day_name", "month_end", "week_start", "fiscal_year", "fiscal_quarter")} == {
        "year": 2028, "quarter": 1, "month_name": "February", "iso_year": 2028, "iso_week": 9, "day_of_week": 2,
        "day_name": "Tuesday", "month_end": dt.date(2028, 2, 29), "week_start": dt.date(2028, 2, 28),
        "fiscal_year": 2028, "fiscal_quarter": 1,
    }  # fmt: skip
    assert calendar_day(dt.date(2028, 2, 29), 7)["fiscal_year"] == 2028 and calendar_day(dt.date(2028, 2, 29), 7)["fiscal_quarter"] == 3
    assert calendar_day(dt.date(2027, 2, 28), 1)["month_end"] == dt.date(2027, 2, 28)
    assert one_year_after(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)


def test_dim_date_reaches_back_to_fact_days_that_await_the_retention_run(database_url, source, tmp_path):
    resources = make_resources(database_url, source, tmp_path / "home")
    query(database_url, "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES ('2025-01-10', 0, 0, 0)")
    assert dg.materialize(ASSETS, resources=resources, selection=["dim_date"]).success
    assert query(database_url, "SELECT min(date_key), max(date_key) FROM reporting.dim_date") == [(dt.date(2025, 1, 10), dt.date(2027, 3, 20))]
    assert dim_date_row(database_url, "2026-12-31")["fiscal_year"] == 2026  # the default fiscal year is the calendar year


# ------------------------------------------------------------------ dim_patient
def test_dim_patient_counts_payments_by_status_and_the_balance_per_pseudonym(built, database_url):
    columns = [c for (c,) in query(database_url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'dim_patient' ORDER BY ordinal_position")]
    assert columns == PATIENT_COLUMNS + ["dagster_run_id"]  # no name, birth date, ZIP or age
    rows = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient")
    assert {row[0]: tuple(row[1:]) for row in rows} == EXPECTED_PATIENTS


def test_dim_patient_is_validated_in_chunks_and_its_metadata_adds_them_up(database_url, source, tmp_path, monkeypatch):
    monkeypatch.setattr(copy_out, "READ_BLOCK_BYTES", 250)  # a patient or two per block, as a million are in dozens
    validated = []  # rows per dim_patient chunk
    read_back = materialization.written_chunks

    def counted(conn, table, model, where):
        for frame in read_back(conn, table, model, where):
            if table.name == "dim_patient":
                validated.append(len(frame))
            yield frame

    monkeypatch.setattr(materialization, "written_chunks", counted)
    resources = make_resources(database_url, source, tmp_path / "home")
    assert materialize_current(resources).success
    validated.clear()
    result = materialize_days(resources, "2026-03-01", "2026-03-20", selection=DAILY + DIMENSIONS)
    assert len(validated) > 1 and sum(validated) == 4
    metadata = {e.materialization.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    patients = metadata["dim_patient"]
    # hand-computed from EXPECTED_PATIENTS: 49.99 + 30.00 + 0.00 + 15.00 outstanding; P1-P3 have payments
    assert patients["amount_outstanding_total"].value == "94.99"
    assert patients["patients_with_payments"].value == 3 and patients["dagster/row_count"].value == 4
    kinds = dict(query(database_url, "SELECT kind, count(*) FROM reporting.dim_user GROUP BY kind"))
    assert metadata["dim_user"]["by_kind"].value == kinds and sum(kinds.values()) >= 1


def test_a_rebuild_follows_the_facts_and_is_audited(built, database_url, source, tmp_path):
    write_source(source, payments=[(106, 12, 2, "2026-03-18", 30.00, "paid", "card")])
    resources = make_resources(database_url, source, tmp_path / "home")
    assert materialize_current(resources).success
    assert materialize_days(resources, "2026-03-18", "2026-03-18", selection=DAILY + ["dim_patient"]).success
    assert query(database_url, "SELECT paid_count, paid_amount, refunded_count, amount_outstanding FROM reporting.dim_patient WHERE patient_id = %s", (P2,)) == [
        (1, D("30.00"), 1, D("0.00"))
    ]
    audited = query(database_url, "SELECT resource_id, row_count FROM reporting.audit_log WHERE resource_id LIKE 'dim_%%' ORDER BY id")
    # P2's balance and history changed: only their row is written again
    assert audited[-1] == ("dim_patient/changed patients", 1) and {r.split("/")[0] for r, _ in audited} == set(DIMENSIONS)


# ------------------------------------------------------------------ dim_user
def test_dim_user_knows_each_actor_kind_and_an_api_account_disabled_later(database_url, source, tmp_path):
    save_api_user(database_url, "ana", "finance", "a-long-enough-password", actor="local:ops")
    query(
        database_url,
        "INSERT INTO reporting.audit_log (user_id, action, resource_type, timestamp) VALUES "
        "('api:ana', 'login', 'api_user', '2026-03-01 08:00'), ('api:ana', 'read_report', 'report', '2026-03-02 09:30'), "
        "('api:unknown', 'login_failed', 'api_user', '2026-03-03 10:00'), "
        "('system:schedule:daily_facts_schedule', 'materialize', 'asset', '2026-03-04 02:00')",
    )
    save_api_user(database_url, "ana", "finance", None, disabled=True, actor="local:ops")
    resources = make_resources(database_url, source, tmp_path / "home")
    assert dg.materialize(ASSETS, resources=resources, selection=["dim_user"], tags={"dagster/user": "dana@clinic.example"}).success
    rows = {r[0]: r[1:] for r in query(database_url, "SELECT user_id, kind, api_role, api_disabled, first_seen, last_seen FROM reporting.dim_user")}
    assert rows["api:ana"] == ("api", "finance", True, dt.datetime(2026, 3, 1, 8, 0), dt.datetime(2026, 3, 2, 9, 30))
    assert rows["api:unknown"] == ("api", None, None, dt.datetime(2026, 3, 3, 10, 0), dt.datetime(2026, 3, 3, 10, 0))
    assert rows["system:schedule:daily_facts_schedule"][:3] == ("system", None, None)
    assert rows["local:ops"][:3] == ("local", None, None)
    # the launcher of this very run, whose audit row commits with the dimension
    assert rows["dana@clinic.example"][:3] == ("dagster", None, None)
    assert set(rows) == {u for (u,) in query(database_url, "SELECT DISTINCT user_id FROM reporting.audit_log")}


# ------------------------------------------------------------------ referential checks
def test_the_referential_checks_pass_after_the_jobs(built, database_url):
    instance = dg.DagsterInstance.ephemeral()
    for asset in DIMENSIONS:
        evaluations = run_checks(built, asset, instance)
        assert evaluations and all(e.passed for e in evaluations.values()), evaluations


def test_an_orphaned_fact_fails_its_referential_check_with_count_and_sample(built, database_url):
    query(database_url, "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES ('2020-01-01', 0, 0, 0)")
    query(
        database_url,
        "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id) "
        "VALUES (%s, '2026-03-19', 1.00, 'paid', 9001), (%s, '2026-03-19', 2.00, 'paid', 9002)",
        (ORPHAN, ORPHAN),
    )
    query(database_url, "INSERT INTO reporting.audit_log (user_id, action, resource_type) VALUES ('api:newcomer', 'login', 'api_user')")
    instance = dg.DagsterInstance.ephemeral()

    dates = run_checks(built, "dim_date", instance)
    failed = dates["revenue_metrics_date_key_in_dim_date"]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.metadata["orphan_rows"].value == 1 and failed.metadata["orphan_sample"].value == ["2020-01-01"]
    assert dates["patient_payment_history_payment_date_in_dim_date"].passed

    patients = run_checks(built, "dim_patient", instance)
    failed = patients["patient_payment_history_patient_id_in_dim_patient"]
    assert not failed.passed
    assert (failed.metadata["orphan_rows"].value, failed.metadata["orphan_keys"].value, failed.metadata["orphan_sample"].value) == (2, 1, [ORPHAN])
    assert patients["outstanding_payments_patient_id_in_dim_patient"].passed

    users = run_checks(built, "dim_user", instance)["audit_log_user_id_in_dim_user"]
    assert not users.passed and users.severity == dg.AssetCheckSeverity.WARN
    assert users.metadata["orphan_sample"].value == ["api:newcomer"]


HISTORY_CHECK, OUTSTANDING_CHECK = "patient_payment_history_patient_id_in_dim_patient", "outstanding_payments_patient_id_in_dim_patient"


def daily_run_with_checks(resources: dict, first: str, last: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """The daily job's assets and their checks over first..last, as one run over a range of days."""
    selection = dg.AssetSelection.assets(*DAILY, *DIMENSIONS)
    tags = partition_range_tags(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    return dg.materialize(ASSETS + CHECKS, resources=resources, selection=selection, instance=instance, tags=tags, raise_on_error=False)


def check_outcomes(evaluations: Iterable[dg.AssetCheckEvaluation]) -> dict[str, tuple[bool, int, str]]:
    """(passed, orphan rows, fact rows checked) of the referential checks of dim_patient among ``evaluations``."""
    return {
        e.check_name: (e.passed, e.metadata["orphan_rows"].value, e.metadata["fact_rows_checked"].value)
        for e in evaluations
        if e.asset_key == dg.AssetKey("dim_patient") and e.check_name in (HISTORY_CHECK, OUTSTANDING_CHECK)
    }


def test_a_daily_run_that_removes_no_patient_checks_only_the_fact_rows_it_wrote(built, database_url):
    """An orphan planted by hand is not the daily run's doing: its checks read the rows it wrote
    (none of a day it left unchanged, none of outstanding_payments); outstanding_job reads every row."""
    query(
        database_url,
        "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id, dagster_run_id) "
        "VALUES (%s, '2026-03-19', 1.00, 'paid', 9001, 'another run')",
        (ORPHAN,),
    )
    instance = dg.DagsterInstance.ephemeral()
    result = daily_run_with_checks(built, "2026-03-19", "2026-03-20", instance)
    assert result.success
    (patients,) = [m for m in result.asset_materializations_for_node("dim_patient")]
    assert patients.metadata["patients_removed"].value == 0
    assert check_outcomes(result.get_asset_check_evaluations()) == {
        HISTORY_CHECK: (True, 0, "those this run wrote (days 2026-03-19...2026-03-20)"),
        OUTSTANDING_CHECK: (True, 0, "none: this run wrote no outstanding_payments rows"),
    }

    # the checks alone, in a run over those days that did not build dim_patient: every row of the days
    alone = run_checks(built, "dim_patient", instance, tags=partition_range_tags(dt.date(2026, 3, 19), dt.date(2026, 3, 20)))
    assert check_outcomes(alone.values()) == {HISTORY_CHECK: (False, 1, "days 2026-03-19...2026-03-20"), OUTSTANDING_CHECK: (True, 0, "all")}

    current = dg.materialize(ASSETS + CHECKS, resources=built, selection=dg.AssetSelection.assets(*CURRENT, "dim_patient"), instance=instance)
    assert check_outcomes(current.get_asset_check_evaluations()) == {HISTORY_CHECK: (False, 1, "all"), OUTSTANDING_CHECK: (True, 0, "all")}


def test_a_run_that_writes_an_orphan_finds_it_among_the_rows_it_wrote(built, database_url):
    (history,) = [r for r in REFERENCES if r.check_name == HISTORY_CHECK]
    query(
        database_url,
        "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id, dagster_run_id) "
        "VALUES (%s, '2026-03-19', 1.00, 'paid', 9001, 'run one'), (%s, '2026-03-19', 2.00, 'paid', 9002, 'run two')",
        (ORPHAN, ORPHAN),
    )
    warehouse = built["warehouse"]
    days = DateWindow(dt.date(2026, 3, 19), dt.date(2026, 3, 20))
    assert orphans(warehouse, history, FactRows(days, "run one")) == (1, 1, [ORPHAN])
    assert orphans(warehouse, history, FactRows(days, "run three")) == (0, 0, [])
    assert orphans(warehouse, history, FactRows(days)) == (2, 1, [ORPHAN])
    assert orphans(warehouse, history, FactRows(DateWindow(dt.date(2026, 3, 18), dt.date(2026, 3, 19)))) == (0, 0, [])


def test_a_daily_run_that_removes_a_patient_checks_every_row_of_its_days(built, database_url, source):
    """P3's only payment (2026-03-10, pending; INV-13 is not due) leaves the source: the run removes P3's
    row, so its checks read every fact row of its days, and find the orphan planted on a day it left."""
    with closing(sqlite3.connect(source)) as conn, conn:
        conn.execute("DELETE FROM payments WHERE id = 105")
    query(
        database_url,
        "INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, source_payment_id, dagster_run_id) "
        "VALUES (%s, '2026-03-11', 1.00, 'paid', 9001, 'another run')",
        (ORPHAN,),
    )
    result = daily_run_with_checks(built, "2026-03-10", "2026-03-11", dg.DagsterInstance.ephemeral())
    assert result.success  # the check does not block
    (patients,) = [m for m in result.asset_materializations_for_node("dim_patient")]
    assert patients.metadata["patients_removed"].value == 1
    assert query(database_url, "SELECT count(*) FROM reporting.dim_patient WHERE patient_id = %s", (P3,)) == [(0,)]
    assert check_outcomes(result.get_asset_check_evaluations()) == {HISTORY_CHECK: (False, 1, "days 2026-03-10...2026-03-11"), OUTSTANDING_CHECK: (True, 0, "all")}


# ------------------------------------------------------------------ who may read them
def test_bi_reads_the_calendar_and_patients_and_only_auditors_read_users(built, database_url, login_users):  # noqa: F811
    bi = connect(as_user(database_url, login_users("bi")))
    auditor = connect(as_user(database_url, login_users("auditor")))
    try:
        with bi.cursor() as cur:
            cur.execute("SELECT count(*) FROM dim_date")  # unqualified: the BI role's search_path
            assert cur.fetchone() == (731,)
            cur.execute("SELECT count(*) FROM dim_patient")
            assert cur.fetchone() == (4,)
        assert refused(bi, "SELECT * FROM reporting.dim_user")
        with auditor.cursor() as cur:
            cur.execute("SELECT count(*) > 0 FROM dim_user")
            assert cur.fetchone() == (True,)
        assert refused(auditor, "SELECT * FROM reporting.dim_patient")
        assert refused(auditor, "SELECT * FROM reporting.dim_date")
    finally:
        bi.close()
        auditor.close()
    api_readers = query(
        database_url,
        "SELECT table_name, string_agg(grantee, ',' ORDER BY grantee) FROM information_schema.role_table_grants "
        "WHERE table_name LIKE 'dim\\_%%' AND privilege_type = 'SELECT' AND grantee <> current_user GROUP BY 1 ORDER BY 1",
    )
    assert api_readers == [
        ("dim_date", "reporting_bi,reporting_writer"),
        ("dim_patient", "reporting_bi,reporting_writer"),
        ("dim_user", "reporting_api_admin,reporting_api_auditor,reporting_auditor,reporting_writer"),
    ]


def test_the_documented_bi_queries_run_as_bi_and_give_the_hand_computed_figures(built, database_url, login_users):  # noqa: F811
    section = (Path(__file__).resolve().parents[1] / "docs" / "data-model.md").read_text().split("### Example BI queries")[1]
    by_week, by_cohort = re.findall(r"```sql\n(.*?)```", section, flags=re.S)[:2]
    bi = connect(as_user(database_url, login_users("bi")))
    try:
        with bi.cursor() as cur:
            cur.execute(by_week)
            weeks = [row for row in cur.fetchall() if row[5] > 0]
            cur.execute(by_cohort)
            cohorts = cur.fetchall()
    finally:
        bi.close()
    # paid payments: Monday 2 March 40.00, Tuesday 3 March 50.00, Thursday 5 March 10.01 (ISO week 10 of 2026)
    assert weeks == [(2026, 10, 1, "Monday", D("40.00"), 1), (2026, 10, 2, "Tuesday", D("50.00"), 1), (2026, 10, 4, "Thursday", D("10.01"), 1)]
    # P1, P2 and P3 first paid (or tried to pay) in March 2026; P4 never did
    assert cohorts == [(dt.date(2026, 3, 1), dt.date(2026, 3, 1), 3, 3, D("100.01"))]


def rows_of_a_whole_rebuild(resources: dict, database_url: str) -> list[tuple]:
    """dim_patient built whole from the facts as they are (its first build: no record of a build), then its rows."""
    query(database_url, "DELETE FROM staging.refreshes WHERE asset_key = 'dim_patient'")
    run = dg.materialize(ASSETS, resources=resources, selection=["dim_patient"])
    assert run.success and dim_patient_metadata(run)["built_from"] == "whole"
    return query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")


def test_a_run_over_some_days_rebuilds_the_patients_whose_first_or_last_day_changed_and_matches_a_full_rebuild(database_url, source, tmp_path):
    """A payment moved off or deleted from a patient's only day: their row is rebuilt (or removed), the same rows as a whole rebuild."""
    resources = make_resources(database_url, source, tmp_path / "home")
    assert materialize_current(resources).success
    assert materialize_days(resources, "2026-03-01", "2026-03-20", selection=DAILY + ["dim_patient"]).success
    assert query(database_url, "SELECT count(*) FROM staging.patient_history_changes") == [(0,)]
    before = dict(query(database_url, "SELECT patient_id, dagster_run_id FROM reporting.dim_patient"))
    # P2's only payment moves to 2026-03-12; P3's is deleted; P1's payments in these days stay as they were
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("UPDATE payments SET payment_date = '2026-03-12', updated_at = '2026-03-20T10:00:00' WHERE id = 104")
        conn.execute("DELETE FROM payments WHERE id = 105")
        conn.commit()
    history = materialize_days(resources, "2026-03-04", "2026-03-12", selection=DAILY)
    assert history.success
    assert {p for (p,) in query(database_url, "SELECT DISTINCT patient_id FROM staging.patient_history_changes")} == {P2, P3}
    run = materialize_days(resources, "2026-03-04", "2026-03-12", selection=DAILY + ["dim_patient"])
    assert run.success
    after = dict(query(database_url, "SELECT patient_id, dagster_run_id FROM reporting.dim_patient"))
    assert {p for p, run_id in after.items() if run_id == run.run_id} == {P2}  # P3 left the table
    assert P3 not in after and after[P1] == before[P1] and after[P4] == before[P4]
    assert query(database_url, "SELECT count(*) FROM staging.patient_history_changes") == [(0,)]
    incremental = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")
    (audit,) = query(database_url, "SELECT resource_id, row_count FROM reporting.audit_log WHERE dagster_run_id = %s AND resource_id LIKE 'dim_patient%%'", (run.run_id,))
    assert audit == ("dim_patient/changed patients", 1)
    assert rows_of_a_whole_rebuild(resources, database_url) == incremental


def dim_patient_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (materialization,) = result.asset_materializations_for_node("dim_patient")
    return {key: value.value for key, value in materialization.metadata.items()}


def test_changes_inside_a_patients_range_are_added_in_place_and_match_a_full_rebuild(built, database_url, source):
    """Counts and sums take the recorded changes; only a new patient or a lost first/last day needs the whole history."""
    P5 = pseudonym(5)
    stamp = "2026-03-20T10:00:00"
    with closing(sqlite3.connect(source)) as conn:  # P5 and their invoice arrive, no payment yet
        conn.execute("INSERT INTO patients VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*fake_patient(5), stamp, stamp))
        conn.execute("INSERT INTO invoices VALUES (15, 'INV-15', 5, '2026-03-11', '2026-04-10', 9.00, 'open', ?, ?)", (stamp, stamp))
        conn.commit()
    assert materialize_current(built).success
    assert dg.materialize(ASSETS, resources=built, selection=["dim_patient"]).success  # P5 owes 9.00: their row is added
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("INSERT INTO payments VALUES (106, 11, 1, '2026-03-08', 7.25, 'paid', 'card', ?, ?)", (stamp, stamp))  # P1: a new last day
        conn.execute("UPDATE payments SET amount = 6.50, updated_at = ? WHERE id = 103", (stamp,))  # P1's last day so far keeps its row
        conn.execute("UPDATE payments SET status = 'refunded', updated_at = ? WHERE id = 102", (stamp,))  # P1: paid -> refunded
        conn.execute("INSERT INTO payments VALUES (107, 14, 4, '2026-03-15', 3.00, 'pending', 'ach', ?, ?)", (stamp, stamp))  # P4's first payment
        conn.execute("UPDATE payments SET payment_date = '2026-03-12', updated_at = ? WHERE id = 104", (stamp,))  # P2's only day moves
        conn.execute("INSERT INTO payments VALUES (108, 15, 5, '2026-03-11', 9.00, 'paid', 'card', ?, ?)", (stamp, stamp))  # P5's first
        conn.commit()
    assert materialize_days(built, "2026-03-01", "2026-03-20", selection=DAILY).success
    changes = query(database_url, "SELECT patient_id, payment_date, payment_status, row_change, amount_change FROM staging.patient_history_changes")
    assert sorted(changes) == sorted([
        (P1, dt.date(2026, 3, 3), "paid", -1, D("-50.00")), (P1, dt.date(2026, 3, 3), "refunded", 1, D("50.00")),
        (P1, dt.date(2026, 3, 6), "failed", 0, D("1.50")), (P1, dt.date(2026, 3, 8), "paid", 1, D("7.25")),
        (P2, dt.date(2026, 3, 4), "refunded", -1, D("-30.00")), (P2, dt.date(2026, 3, 12), "refunded", 1, D("30.00")),
        (P4, dt.date(2026, 3, 15), "pending", 1, D("3.00")), (P5, dt.date(2026, 3, 11), "paid", 1, D("9.00")),
    ])  # fmt: skip
    # a change without a day (what 009 makes of a patient listed by 006) asks for P3's row to be rebuilt
    query(database_url, "INSERT INTO staging.patient_history_changes VALUES (%s, NULL, NULL, 0, 0)", (P3,))
    run = dg.materialize(ASSETS, resources=built, selection=["dim_patient"])
    assert run.success
    metadata = dim_patient_metadata(run)
    assert (metadata["patients_updated"], metadata["patients_rebuilt"]) == (2, 3)  # P1, P4 in place; P2 (lost its only day), P5 (new), P3
    assert query(database_url, "SELECT count(*) FROM staging.patient_history_changes") == [(0,)]
    rows = {row[0]: row[1:] for row in query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient")}
    assert rows[P1] == (dt.date(2026, 3, 2), dt.date(2026, 3, 8), dt.date(2025, 12, 1), 3, D("57.26"), 0, D("0.00"), 1, D("6.50"), 1, D("50.00"), D("49.99"))
    assert rows[P4] == (dt.date(2026, 3, 15), dt.date(2026, 3, 15), dt.date(2026, 1, 10), 0, D("0.00"), 1, D("3.00"), 0, D("0.00"), 0, D("0.00"), D("15.00"))
    assert rows[P2][:2] == (dt.date(2026, 3, 12), dt.date(2026, 3, 12))
    assert rows[P5] == (dt.date(2026, 3, 11), dt.date(2026, 3, 11), dt.date(2026, 3, 11), 1, D("9.00"), *[0, D("0.00")] * 3, D("0.00"))
    incremental = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")
    assert rows_of_a_whole_rebuild(built, database_url) == incremental


def test_changes_are_recorded_while_dim_patient_is_behind_the_tables_it_reads_and_taken_in_after(built, database_url, source):
    """After outstanding_payments is refreshed alone, history changes are still recorded; the next build takes them in and compares."""
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("UPDATE invoices SET total_amount = 120.00, updated_at = '2026-03-20T10:00:00' WHERE id = 10")  # P1 owes 20.00 more
        conn.commit()
    assert materialize_current(built).success
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("UPDATE payments SET amount = 45.00, updated_at = '2026-03-20T10:00:00' WHERE id = 100")
        conn.commit()
    assert materialize_days(built, "2026-03-01", "2026-03-20", selection=DAILY).success
    assert query(database_url, "SELECT patient_id, row_change, amount_change FROM staging.patient_history_changes") == [(P1, 0, D("5.00"))]
    run = dg.materialize(ASSETS, resources=built, selection=["dim_patient"])
    metadata = dim_patient_metadata(run)
    assert metadata["built_from"] == COMPARED
    # P1's history change is added to its row, and its balance, which differs, set in place: one row written
    assert (metadata["patients_updated"], metadata["patients_corrected"], metadata["patients_rebuilt"]) == (1, 1, 0)
    assert query(database_url, "SELECT paid_amount, amount_outstanding FROM reporting.dim_patient WHERE patient_id = %s", (P1,)) == [(D("105.01"), D("69.99"))]  # the balance as staged before the change
    incremental = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")
    assert rows_of_a_whole_rebuild(built, database_url) == incremental


def test_a_refresh_after_outstanding_payments_changed_rebuilds_the_patients_whose_balance_differs(built, database_url, source, tmp_path):
    """outstanding_payments refreshed without dim_patient: the next build compares every patient's balance, and P4 leaves the table."""
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("UPDATE invoices SET status = 'void', updated_at = '2026-03-20T10:00:00' WHERE id = 14")  # P4's overdue invoice
        conn.commit()
    assert materialize_current(built).success
    assert query(database_url, REQUESTS) == [("outstanding_payments",), ("staged_invoices",)]
    run = materialize_days(built, "2026-03-20", "2026-03-20", selection=DAILY + ["dim_patient"])
    assert query(database_url, "SELECT resource_id, row_count FROM reporting.audit_log WHERE dagster_run_id = %s AND resource_id LIKE 'dim_patient%%'", (run.run_id,)) == [
        ("dim_patient/changed patients", 0)
    ]
    assert P4 not in {p for (p,) in query(database_url, "SELECT patient_id FROM reporting.dim_patient")}
    incremental = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")
    assert rows_of_a_whole_rebuild(built, database_url) == incremental


def test_outstanding_job_writes_only_the_patients_whose_invoices_or_balance_changed(built, database_url, source):
    """An earlier invoice, an invoice given to another patient, a new patient owing money, a balance paid off: the same rows as a whole rebuild."""
    P5 = pseudonym(5)
    stamp = "2026-03-20T10:00:00"
    before = dict(query(database_url, "SELECT patient_id, dagster_run_id FROM reporting.dim_patient"))
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("INSERT INTO patients VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*fake_patient(5), stamp, stamp))
        conn.execute("INSERT INTO invoices VALUES (15, 'INV-15', 5, '2026-01-11', '2026-02-10', 9.00, 'open', ?, ?)", (stamp, stamp))  # P5 owes 9.00
        conn.execute("INSERT INTO invoices VALUES (16, 'INV-16', 3, '2025-11-01', '2025-12-01', 5.00, 'paid', ?, ?)", (stamp, stamp))  # P3: earlier invoice
        conn.execute("UPDATE invoices SET patient_id = 2, updated_at = ? WHERE id = 14", (stamp,))  # P4's overdue invoice is P2's now
        conn.commit()
    run = dg.materialize(ASSETS, resources=built, selection=[*CURRENT, "dim_patient"])  # as outstanding_job
    assert run.success
    metadata = dim_patient_metadata(run)
    assert metadata["built_from"] == COMPARED
    # P2 and P3 keep their rows, given their balance and first invoice date in place; P5 is new; P4 left the table
    assert (metadata["patients_updated"], metadata["patients_corrected"], metadata["patients_rebuilt"]) == (0, 2, 1)
    after = dict(query(database_url, "SELECT patient_id, dagster_run_id FROM reporting.dim_patient"))
    assert P4 not in after and after[P1] == before[P1] and {after[P2], after[P3], after[P5]} == {run.run_id}
    rows = {row[0]: row[1:] for row in query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient")}
    assert rows[P2][2:] == (dt.date(2026, 1, 10), 0, D("0.00"), 0, D("0.00"), 0, D("0.00"), 1, D("30.00"), D("45.00"))
    assert rows[P3][2] == dt.date(2025, 11, 1)
    assert rows[P5] == (None, None, dt.date(2026, 1, 11), *[0, D("0.00")] * 4, D("9.00"))
    incremental = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")
    assert rows_of_a_whole_rebuild(built, database_url) == incremental


def test_an_earlier_paid_invoice_alone_asks_for_the_comparison_that_moves_the_first_invoice_date(built, database_url, source):
    """staged_invoices stages an invoice that changes no balance (paid): its request alone makes the build compare."""
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("INSERT INTO invoices VALUES (16, 'INV-16', 3, '2025-11-01', '2025-12-01', 5.00, 'paid', '2026-03-20T10:00:00', '2026-03-20T10:00:00')")
        conn.commit()
    assert materialize_current(built).success
    assert query(database_url, REQUESTS) == [("staged_invoices",)]  # no outstanding row changed
    run = dg.materialize(ASSETS, resources=built, selection=["dim_patient"])
    assert dim_patient_metadata(run)["built_from"] == COMPARED
    assert query(database_url, "SELECT first_invoice_date FROM reporting.dim_patient WHERE patient_id = %s", (P3,)) == [(dt.date(2025, 11, 1),)]
    assert query(database_url, REQUESTS) == []


def test_an_outstanding_job_with_nothing_new_leaves_no_request_and_skips_the_comparison(built, database_url):
    """A second outstanding_job the same day changes no invoice and no outstanding row: dim_patient takes in only the history's changes."""
    assert query(database_url, REQUESTS) == []  # the fixture's build took those of its first current-state run
    run = dg.materialize(ASSETS, resources=built, selection=[*CURRENT, "dim_patient"])  # as outstanding_job
    (outstanding,) = run.asset_materializations_for_node("outstanding_payments")
    assert outstanding.metadata["rows_changed"].value == 0
    assert dim_patient_metadata(run)["built_from"] == "recorded changes"
    assert query(database_url, REQUESTS) == []


def test_a_balance_committed_after_a_build_took_the_requests_is_compared_by_the_next_build(built, database_url, source):
    """outstanding_payments' write commits while dim_patient builds (it cannot see the write): the request the write
    committed with makes the next build compare, even in the daily job, and P4 leaves the table."""
    query(database_url, "UPDATE staging.invoices SET invoice_status = 'void' WHERE patient_id = %s", (P4,))  # as staged_invoices leaves it
    with closing(connect_warehouse(database_url)) as writer:  # outstanding_payments' write, not committed yet
        today = outstanding_payments.outstanding_today(built["policy"])
        assert merge_rows_from_select(writer, outstanding_payments.TABLE, today, run_id="the-writer", unchanged_rows_kept=True).changed == 1
        patient_changes.request_comparison(writer, "outstanding_payments")
        during = materialize_days(built, "2026-03-20", "2026-03-20", selection=DAILY + ["dim_patient"])
        assert dim_patient_metadata(during)["built_from"] == "recorded changes"  # nothing requested yet
        writer.commit()
    assert P4 in {p for (p,) in query(database_url, "SELECT patient_id FROM reporting.dim_patient")}
    after = materialize_days(built, "2026-03-20", "2026-03-20", selection=DAILY + ["dim_patient"])
    assert dim_patient_metadata(after)["built_from"] == COMPARED
    assert P4 not in {p for (p,) in query(database_url, "SELECT patient_id FROM reporting.dim_patient")}
    incremental = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")
    assert rows_of_a_whole_rebuild(built, database_url) == incremental


def test_outstanding_rows_removed_by_retention_ask_for_the_comparison(built, database_url):
    """Retention deletes every outstanding row as stale: the next build compares, and every balance is 0.00 (P4 leaves)."""
    (rule,) = [r for r in retention.RULES if r.table == "reporting.outstanding_payments"]
    assert retention.delete_older_than(database_url, rule, dt.date(2100, 1, 1), batch_rows=1) == 3
    assert query(database_url, REQUESTS) == [("retention",)] * 3  # one per batch
    run = dg.materialize(ASSETS, resources=built, selection=["dim_patient"])
    assert dim_patient_metadata(run)["built_from"] == COMPARED
    assert query(database_url, "SELECT count(*) FROM reporting.dim_patient WHERE amount_outstanding <> 0 OR patient_id = %s", (P4,)) == [(0,)]
    incremental = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")
    assert rows_of_a_whole_rebuild(built, database_url) == incremental


def test_when_every_balance_differs_the_rows_are_corrected_in_place_not_rebuilt(built, database_url, monkeypatch):
    """Every invoice voided: every balance differs, but the patients keep their rows: two columns set in place, no history read."""
    monkeypatch.setattr(dim_patient_asset, "SOME_PATIENTS", 2)
    before = dict(query(database_url, "SELECT patient_id, dagster_run_id FROM reporting.dim_patient"))
    query(database_url, "UPDATE staging.invoices SET invoice_status = 'void'")  # as a staged_invoices run would leave them
    run = dg.materialize(ASSETS, resources=built, selection=["outstanding_payments", "dim_patient"])
    metadata = dim_patient_metadata(run)
    assert metadata["built_from"] == COMPARED
    assert (metadata["patients_updated"], metadata["patients_corrected"], metadata["patients_rebuilt"]) == (0, 2, 0)  # P1, P2; P4 left
    assert query(database_url, "SELECT resource_id, row_count FROM reporting.audit_log WHERE dagster_run_id = %s AND resource_id LIKE 'dim_patient%%'", (run.run_id,)) == [
        ("dim_patient/changed patients", 2)
    ]
    after = dict(query(database_url, "SELECT patient_id, dagster_run_id FROM reporting.dim_patient"))
    assert P4 not in after and after[P1] == after[P2] == run.run_id and after[P3] == before[P3]
    assert query(database_url, "SELECT count(*) FROM reporting.dim_patient WHERE amount_outstanding <> 0") == [(0,)]
    incremental = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")
    assert rows_of_a_whole_rebuild(built, database_url) == incremental


def test_when_most_patients_are_new_to_the_table_it_is_rebuilt_whole_in_one_pass(built, database_url, monkeypatch):
    """Three of four patients owe money but have no row (as after a restore): the table is rebuilt whole (audited as such), not patient by patient."""
    monkeypatch.setattr(dim_patient_asset, "SOME_PATIENTS", 2)
    expected = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")
    query(database_url, "DELETE FROM reporting.dim_patient WHERE patient_id <> %s", (P3,))
    with closing(connect_warehouse(database_url)) as conn:
        patient_changes.request_comparison(conn, "outstanding_payments")
        conn.commit()
    run = dg.materialize(ASSETS, resources=built, selection=["dim_patient"])
    assert dim_patient_metadata(run)["built_from"] == "whole (most patients' rows differed)"
    assert query(database_url, "SELECT resource_id, row_count FROM reporting.audit_log WHERE dagster_run_id = %s AND resource_id LIKE 'dim_patient%%'", (run.run_id,)) == [
        ("dim_patient", 4)
    ]
    assert query(database_url, "SELECT count(*) FROM reporting.dim_patient WHERE dagster_run_id <> %s", (run.run_id,)) == [(0,)]
    assert query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1") == expected


def test_an_emptied_table_is_built_whole_again(built, database_url):
    """dim_patient emptied by hand (or restored empty): the next build reads every fact, not only the changes."""
    expected = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")
    query(database_url, "DELETE FROM reporting.dim_patient")
    run = dg.materialize(ASSETS, resources=built, selection=["dim_patient"])
    assert dim_patient_metadata(run)["built_from"] == "whole"
    assert query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1") == expected


def test_payments_retention_deletes_are_taken_in_as_changes(built, database_url):
    """Retention removes P1's first two days (one row per transaction): recorded as removed, P1's row rebuilt, the same rows as a whole rebuild."""
    (rule,) = [r for r in retention.RULES if r.table == "reporting.patient_payment_history"]
    assert retention.delete_older_than(database_url, rule, dt.date(2026, 3, 4), batch_rows=1) == 2
    changes = query(database_url, "SELECT patient_id, payment_date, payment_status, row_change, amount_change FROM staging.patient_history_changes")
    assert sorted(changes) == [(P1, dt.date(2026, 3, 2), "paid", -1, D("-40.00")), (P1, dt.date(2026, 3, 3), "paid", -1, D("-50.00"))]
    run = dg.materialize(ASSETS, resources=built, selection=["dim_patient"])
    assert (dim_patient_metadata(run)["patients_updated"], dim_patient_metadata(run)["patients_rebuilt"]) == (0, 1)
    assert query(database_url, "SELECT first_payment_date, paid_count, paid_amount FROM reporting.dim_patient WHERE patient_id = %s", (P1,)) == [
        (dt.date(2026, 3, 5), 1, D("10.01"))
    ]
    incremental = query(database_url, f"SELECT {', '.join(PATIENT_COLUMNS)} FROM reporting.dim_patient ORDER BY 1")
    assert rows_of_a_whole_rebuild(built, database_url) == incremental


def test_patients_listed_as_changed_before_the_change_records_are_rebuilt_after_the_migration(empty_database_url, tmp_path):
    """009 takes over staging.patients_changed (006): each listed patient becomes a request to rebuild their row."""
    migrate_up_to(empty_database_url, 8, tmp_path / "sql")
    query(empty_database_url, "INSERT INTO staging.patients_changed (patient_id) VALUES (%s), (%s)", (P1, P2))
    assert "009_patient_history_changes.sql" in apply_migrations(empty_database_url)
    assert query(empty_database_url, "SELECT to_regclass('staging.patients_changed')") == [(None,)]
    assert sorted(query(empty_database_url, "SELECT * FROM staging.patient_history_changes")) == [(P1, None, None, 0, D("0.00")), (P2, None, None, 0, D("0.00"))]


def test_a_warehouse_whose_dim_patient_was_built_before_the_requests_compares_at_its_next_build(database_url, source, tmp_path):
    """013 on a warehouse built by an earlier release: one request, so the next build compares; on a new warehouse none."""
    resources = make_resources(database_url, source, tmp_path / "home")
    assert materialize_days(resources, "2026-03-20", "2026-03-20", selection=DAILY + ["dim_patient"]).success
    query(database_url, "DELETE FROM staging.patient_comparison_requests; DELETE FROM reporting.schema_version WHERE version = 13")
    assert "013_patient_comparison_requests.sql" in apply_migrations(database_url)
    assert query(database_url, REQUESTS) == [("sql/013",)]


def test_a_new_warehouse_starts_without_requests(empty_database_url):
    apply_migrations(empty_database_url)
    assert query(empty_database_url, REQUESTS) == []
