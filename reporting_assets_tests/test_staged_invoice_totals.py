"""staged_invoices takes the paid sums of days staged from the current replica state out of
staging.payments and validates every other payment again; either way the invoices it stages
equal those of a warehouse that validated every payment itself."""

import datetime as dt
import sqlite3
from contextlib import closing

from reporting_assets.replica import reads
from reporting_assets.source.sample_data import SampleSpec, generate_sample_database
from reporting_assets.warehouse import accounting
from reporting_assets_tests.conftest import make_resources, materialize_current, materialize_days, query

INVOICE_COLUMNS = "source_invoice_id, invoice_id, patient_id, issue_date, due_date, total_cents, invoice_status, paid_cents, last_payment_date"
OUTSTANDING_COLUMNS = "invoice_id, patient_id, amount_due, days_overdue, last_payment_date, payment_status"
DAYS = 90  # invoices fall due 30 days after issue: some are overdue by the last day
LAST_DAY = dt.date(2026, 3, 20)
FIRST_DAY = LAST_DAY - dt.timedelta(days=DAYS - 1)


def current_state(url: str) -> dict[str, list[tuple]]:
    return {
        "invoices": query(url, f"SELECT {INVOICE_COLUMNS} FROM staging.invoices ORDER BY source_invoice_id"),
        "outstanding": query(url, f"SELECT {OUTSTANDING_COLUMNS} FROM reporting.outstanding_payments ORDER BY invoice_id"),
        "quarantine": query(url, "SELECT source_id, reasons FROM reporting.quarantine WHERE asset_key = 'staged_invoices' ORDER BY 1"),
    }


def staged_invoices_metadata(result) -> dict:
    materialization = result.asset_materializations_for_node("staged_invoices")[0]
    return {key: value.value for key, value in materialization.metadata.items()}


def test_paid_sums_from_staged_days_equal_validating_every_payment(database_url, reference_database, tmp_path, monkeypatch):
    monkeypatch.setattr(accounting, "TOTALS_CHUNK", 50)  # the sums arrive in many chunks, as 5M invoices' do
    # messy: some payments break rules (quarantined), so a sum over all source rows would differ
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=300, payments=6_000, days=DAYS, messy=True, end_date=LAST_DAY)).path
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY, report_retention_days=400)
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    reused = staged_invoices_metadata(materialize_current(resources))
    # the reference validates every payment: nothing of its staging.payments to take
    reference = make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY, report_retention_days=400)
    validated = staged_invoices_metadata(materialize_current(reference))

    payments, undated = query(database_url, "SELECT count(*), count(*) FILTER (WHERE payment_day IS NULL OR payment_day > %s) FROM raw.payments", (LAST_DAY,))[0]
    assert validated["payment_days_from_staging"] == 0 and validated["payments_validated"] == payments
    staged_days = query(database_url, "SELECT count(*) FROM staging.payment_day_counts WHERE day <= %s", (LAST_DAY,))[0][0]
    assert reused["payment_days_from_staging"] == staged_days == DAYS
    # days before the first partition and undated payments are still validated
    before_first = query(database_url, "SELECT count(*) FROM raw.payments WHERE payment_day < %s", (FIRST_DAY,))[0][0]
    assert reused["payments_validated"] == undated + before_first < payments
    state = current_state(database_url)
    assert state == current_state(reference_database)
    assert sum(row[7] for row in state["invoices"]) > 0 and state["outstanding"]


def test_a_source_change_after_the_days_were_staged_is_validated_again(database_url, reference_database, tmp_path):
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=200, payments=3_000, days=DAYS, end_date=LAST_DAY)).path
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY)
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    # the clinic's billing app changes payments and deletes an invoice; the daily job does not run again
    with closing(sqlite3.connect(source)) as conn, conn:
        later = "2099-01-01T00:00:00"
        paid = [row[0] for row in conn.execute("SELECT id FROM payments WHERE status = 'paid' AND invoice_id IS NOT NULL ORDER BY id LIMIT 3")]
        conn.execute("UPDATE payments SET status = 'failed', updated_at = ? WHERE id = ?", (later, paid[0]))
        conn.execute("UPDATE payments SET amount = amount + 1, updated_at = ? WHERE id = ?", (later, paid[1]))
        gone = conn.execute("SELECT invoice_id FROM payments WHERE id = ?", (paid[2],)).fetchone()[0]
        conn.execute("DELETE FROM invoices WHERE id = ?", (gone,))
    after_change = staged_invoices_metadata(materialize_current(resources))
    assert after_change["payment_days_from_staging"] == 0
    reference = make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY)
    materialize_current(reference)
    assert current_state(database_url) == current_state(reference_database)
    # and once the daily job has staged the days again, they are taken from staging again
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    again = staged_invoices_metadata(materialize_current(resources))
    assert again["payment_days_from_staging"] == DAYS
    assert current_state(database_url) == current_state(reference_database)


def test_days_staged_before_they_came_are_validated_again_once_they_have(database_url, reference_database, tmp_path):
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=200, payments=3_000, days=DAYS, end_date=LAST_DAY)).path
    earlier = LAST_DAY - dt.timedelta(days=3)
    # staged while the last three days were still in the future: their payments were rejected as future ones
    resources = make_resources(database_url, source, tmp_path / "home", today=earlier)
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat(), selection=["staged_payments"])
    assert query(database_url, "SELECT count(*) FROM staging.payments WHERE payment_date > %s", (earlier,))[0][0] == 0
    assert query(database_url, "SELECT count(*) FROM raw.payments WHERE payment_day > %s", (earlier,))[0][0] > 0
    # three days later, without a new daily run: those days' payments count towards their invoices
    reused = staged_invoices_metadata(materialize_current(make_resources(database_url, source, tmp_path / "home", today=LAST_DAY)))
    assert reused["payment_days_from_staging"] == DAYS - 3
    materialize_current(make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY))
    assert current_state(database_url) == current_state(reference_database)


def test_many_payments_validated_again_resolve_against_every_invoice_as_few_do(database_url, reference_database, tmp_path, monkeypatch):
    """Few payments to validate: only the invoices and patients each chunk references are loaded; many: all of them, once. The same invoices either way."""
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=300, payments=6_000, days=DAYS, messy=True, end_date=LAST_DAY)).path
    # no daily run: every payment is validated by staged_invoices, here against the lookups of what they reference
    one_chunk = staged_invoices_metadata(materialize_current(make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY)))
    loaded = []
    monkeypatch.setattr(reads, "CHUNK_ROWS", 500)  # ...and here in 12 chunks, as "many" payments: against every invoice and patient
    monkeypatch.setattr(reads, "WHOLE_LOOKUPS_ABOVE", 500)
    monkeypatch.setattr(reads, "all_lookups", lambda conn, load=reads.all_lookups: loaded.append(1) or load(conn))
    chunked = staged_invoices_metadata(materialize_current(make_resources(database_url, source, tmp_path / "home", today=LAST_DAY)))
    assert loaded == [1]
    assert chunked["payments_validated"] == one_chunk["payments_validated"] == query(database_url, "SELECT count(*) FROM raw.payments")[0][0]
    state = current_state(database_url)
    assert state == current_state(reference_database)
    assert sum(row[7] for row in state["invoices"]) > 0
