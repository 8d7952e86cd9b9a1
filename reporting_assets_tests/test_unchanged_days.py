"""A daily run leaves a day's staged payments and history rows as they are when nothing they are
made from changed since they were written (sql/016_unchanged_days.sql); what it writes is
always what a warehouse that wrote every day itself holds."""

import datetime as dt
import sqlite3
from contextlib import closing

import dagster as dg

from reporting_assets.staging import code_version
from reporting_assets.source.sample_data import SampleSpec, generate_sample_database
from reporting_assets_tests.conftest import daily_facts_contents, make_resources, materialize_current, materialize_days, query

DAYS = 30
LAST_DAY = dt.date(2026, 3, 20)
FIRST_DAY = LAST_DAY - dt.timedelta(days=DAYS - 1)
FIRST, LAST = FIRST_DAY.isoformat(), LAST_DAY.isoformat()


def run_ids_per_day(url: str, table: str, column: str) -> dict[dt.date, set[str]]:
    """{day: the run ids of the day's rows} of a staging or reporting table."""
    rows = query(url, f"SELECT {column}, array_agg(DISTINCT dagster_run_id) FROM {table} GROUP BY 1")
    return {day: set(run_ids) for day, run_ids in rows}


def written_days(url: str, run_id: str) -> dict[str, list[dt.date]]:
    """The days whose staged payments and history rows this run wrote."""
    return {
        table: sorted(day for day, run_ids in run_ids_per_day(url, table, column).items() if run_id in run_ids)
        for table, column in (("staging.payments", "payment_date"), ("reporting.patient_payment_history", "payment_date"))
    }


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    return {key: value.value for key, value in result.asset_materializations_for_node(asset)[0].metadata.items()}


def check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return evaluation


def source_of(tmp_path, messy: bool = False):
    return generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=200, payments=3_000, days=DAYS, messy=messy, end_date=LAST_DAY)).path


def test_a_day_run_again_with_nothing_changed_is_left_as_it_is(database_url, tmp_path):
    resources = make_resources(database_url, source_of(tmp_path), tmp_path / "home", today=LAST_DAY)
    first = materialize_days(resources, FIRST, LAST)
    before = daily_facts_contents(database_url)
    again = materialize_days(resources, LAST, LAST)
    assert written_days(database_url, again.run_id) == {"staging.payments": [], "reporting.patient_payment_history": []}
    assert run_ids_per_day(database_url, "staging.payments", "payment_date")[LAST_DAY] == {first.run_id}
    staged, history = metadata(again, "staged_payments"), metadata(again, "patient_payment_history")
    day_rows = query(database_url, "SELECT count(*) FROM staging.payments WHERE payment_date = %s", (LAST_DAY,))[0][0]
    assert day_rows > 0
    assert (staged["days_unchanged"], staged["staged_now"], staged["dagster/row_count"]) == (1, 0, day_rows)
    assert (history["days_unchanged"], history["rows_written"], history["dagster/row_count"]) == (1, 0, day_rows)
    accounted = check(again, "accepted_plus_quarantined_equals_read")
    assert accounted.passed and accounted.metadata["days_unchanged"].value == 1
    assert daily_facts_contents(database_url) == before
    # the run is audited like any other, with the rows it wrote
    assert query(database_url, "SELECT resource_id, row_count FROM reporting.audit_log WHERE dagster_run_id = %s AND resource_id LIKE 'patient_payment_history%%'", (again.run_id,)) == [
        (f"patient_payment_history/{LAST}", 0)
    ]


def test_a_range_run_again_writes_only_around_the_days_that_changed(database_url, reference_database, tmp_path):
    source = source_of(tmp_path)
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY)
    materialize_days(resources, FIRST, LAST)
    changed_from, changed_to = FIRST_DAY + dt.timedelta(days=10), FIRST_DAY + dt.timedelta(days=12)
    with closing(sqlite3.connect(source)) as conn, conn:
        later = "2099-01-01T00:00:00"
        moved = conn.execute("SELECT id FROM payments WHERE payment_date = ? ORDER BY id LIMIT 1", (changed_from.isoformat(),)).fetchone()[0]
        conn.execute("UPDATE payments SET payment_date = ?, updated_at = ? WHERE id = ?", (changed_to.isoformat(), later, moved))
    again = materialize_days(resources, FIRST, LAST)
    around = [changed_from + dt.timedelta(days=d) for d in range(3)]
    assert written_days(database_url, again.run_id) == {"staging.payments": around, "reporting.patient_payment_history": around}
    assert metadata(again, "staged_payments")["days_unchanged"] == DAYS - 3
    assert metadata(again, "patient_payment_history")["days_unchanged"] == DAYS - 3
    # the same tables as a warehouse that wrote every day from this source
    materialize_days(make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY), FIRST, LAST)
    assert daily_facts_contents(database_url) == daily_facts_contents(reference_database)


def test_days_written_by_other_code_are_written_again(database_url, tmp_path):
    resources = make_resources(database_url, source_of(tmp_path), tmp_path / "home", today=LAST_DAY)
    materialize_days(resources, FIRST, LAST)
    staged_by_other, reported_by_other = FIRST_DAY + dt.timedelta(days=3), FIRST_DAY + dt.timedelta(days=20)
    query(database_url, "UPDATE staging.payment_day_counts SET staged_code = 'an-older-release' WHERE day = %s", (staged_by_other,))
    query(database_url, "UPDATE staging.history_days SET code_version = 'an-older-release' WHERE day = %s", (reported_by_other,))
    before = daily_facts_contents(database_url)
    again = materialize_days(resources, FIRST, LAST)
    # staging again makes its history stale too; the history of a day staged by this code is written alone
    assert written_days(database_url, again.run_id) == {
        "staging.payments": [staged_by_other],
        "reporting.patient_payment_history": [staged_by_other + dt.timedelta(days=d) for d in range(18)],
    }
    assert daily_facts_contents(database_url) == before
    assert query(database_url, "SELECT DISTINCT staged_code FROM staging.payment_day_counts") == [(code_version.CODE_VERSION,)]
    assert query(database_url, "SELECT DISTINCT code_version FROM staging.history_days") == [(code_version.CODE_VERSION,)]


def test_a_day_left_as_it_is_still_reports_its_quarantined_rows_and_its_counts(database_url, tmp_path):
    source = source_of(tmp_path, messy=True)
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY)
    materialize_days(resources, FIRST, LAST)
    # the payments quarantined without a day leave the source: every run rejects those again
    undated = [i for (i,) in query(database_url, "SELECT source_id FROM reporting.quarantine WHERE asset_key = 'staged_payments' AND partition_key IS NULL")]
    assert undated
    with closing(sqlite3.connect(source)) as conn, conn:
        conn.execute(f"DELETE FROM payments WHERE id IN ({', '.join('?' * len(undated))})", undated)
    day, quarantined = query(
        database_url,
        "SELECT day, quarantined FROM staging.payment_day_counts WHERE quarantined > 0 AND day <= %s ORDER BY day DESC LIMIT 1",
        (LAST_DAY,),
    )[0]
    again = materialize_days(resources, day.isoformat(), day.isoformat())
    assert metadata(again, "staged_payments")["days_unchanged"] == 1
    rejected = check(again, "no_quarantined_rows")
    assert metadata(again, "staged_payments")["quarantined_undated"] == 0
    assert not rejected.passed
    assert rejected.metadata["quarantined_on_unchanged_days"].value == rejected.metadata["quarantined"].value == quarantined
    assert check(again, "accepted_plus_quarantined_equals_read").passed
    # the counts kept for the day no longer add up to the replica's rows: the check says so
    query(database_url, "UPDATE staging.payment_day_counts SET staged = staged - 1 WHERE day = %s", (day,))
    tampered = materialize_days(resources, day.isoformat(), day.isoformat())
    accounted = check(tampered, "accepted_plus_quarantined_equals_read")
    assert not accounted.passed and list(accounted.metadata["mismatched_days"].value) == [day.isoformat()]


def test_the_code_version_follows_the_modules_and_libraries_that_write_a_day(tmp_path):
    package = tmp_path / "package"
    for module in code_version.MODULES:
        (package / module).parent.mkdir(parents=True, exist_ok=True)
        (package / module).write_text(f"# {module}\n")
    before = code_version.fingerprint(package)
    assert code_version.fingerprint(package) == before and len(before) == 16
    (package / "staging/parsing.py").write_text("# staging/parsing.py, a rule changed\n")
    assert code_version.fingerprint(package) != before
    assert code_version.fingerprint(package, libraries=("pandas",)) != code_version.fingerprint(package)


def test_days_staged_before_the_code_version_was_kept_are_staged_again_but_still_summed(database_url, tmp_path):
    """A warehouse upgraded to sql/016: its days have no code version. staged_invoices keeps taking their sums from
    staging.payments (the history reported for them agrees), and the next daily run over them stages them again."""
    resources = make_resources(database_url, source_of(tmp_path), tmp_path / "home", today=LAST_DAY)
    materialize_days(resources, FIRST, LAST)
    query(database_url, "UPDATE staging.payment_day_counts SET staged_run_id = NULL, staged_code = NULL")
    query(database_url, "DELETE FROM staging.history_days")
    summed = materialize_current(resources)
    assert metadata(summed, "staged_invoices")["payment_days_from_staging"] == DAYS
    again = materialize_days(resources, FIRST, LAST)
    assert metadata(again, "staged_payments")["days_unchanged"] == metadata(again, "patient_payment_history")["days_unchanged"] == 0
    # staged by this code now: the run after leaves them
    assert metadata(materialize_days(resources, FIRST, LAST), "staged_payments")["days_unchanged"] == DAYS
