"""staged_invoices takes the paid sums of the days the billing replica would stage the same way
again out of staging.payments, and validates every other payment again; either way the invoices
it stages equal those of a warehouse that validated every payment itself."""

import datetime as dt
import sqlite3
from contextlib import closing

from reporting_assets.replica import reads
from reporting_assets.source.sample_data import SampleSpec, generate_sample_database
from reporting_assets.warehouse import accounting, database, invoice_changes, retention
from reporting_assets.warehouse.migrations import apply_migrations
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


def _current(url: str, last: dt.date, cutoff: dt.date = dt.date(1900, 1, 1)) -> list[dt.date]:
    """The staged days up to ``last`` that staged_invoices would take from staging.payments now."""
    with database.transaction(url) as conn:
        return accounting.days_still_current(conn, last, cutoff)


def materialize_current_in_full(resources: dict, url: str):
    """staged_invoices staging every invoice, as on its first run: the reference the incremental runs are compared with."""
    query(url, "UPDATE staging.refreshes SET replica_version = NULL WHERE asset_key = 'staged_invoices'")
    result = materialize_current(resources)
    assert staged_invoices_metadata(result)["invoices_staged_again"] == "all"
    return result


def test_only_the_days_whose_payments_changed_are_validated_again(database_url, reference_database, tmp_path):
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=200, payments=3_000, days=DAYS, end_date=LAST_DAY)).path
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY)
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    later = "2099-01-01T00:00:00"
    moved_from, moved_to, amended, deleted_on = (FIRST_DAY + dt.timedelta(days=d) for d in (10, 20, 30, 40))
    with closing(sqlite3.connect(source)) as conn, conn:

        def paid_payment_on(day: dt.date) -> int:
            return conn.execute("SELECT id FROM payments WHERE payment_date = ? AND status = 'paid' AND invoice_id IS NOT NULL ORDER BY id LIMIT 1", (day.isoformat(),)).fetchone()[0]

        conn.execute("UPDATE payments SET payment_date = ?, updated_at = ? WHERE id = ?", (moved_to.isoformat(), later, paid_payment_on(moved_from)))
        conn.execute("UPDATE payments SET amount = amount + 1, updated_at = ? WHERE id = ?", (later, paid_payment_on(amended)))
        conn.execute("DELETE FROM payments WHERE id = ?", (paid_payment_on(deleted_on),))
        # an invoice's status and amount are not what a payment is resolved against: no day is affected
        conn.execute("UPDATE invoices SET status = 'void', total_amount = total_amount + 5, updated_at = ? WHERE id = (SELECT min(id) FROM invoices)", (later,))
    reused = staged_invoices_metadata(materialize_current(resources))
    assert reused["payment_days_from_staging"] == DAYS - 4
    assert {day for (day,) in query(database_url, "SELECT day FROM staging.payment_day_counts WHERE day <= %s", (LAST_DAY,))} - set(_current(database_url, LAST_DAY)) == {
        moved_from, moved_to, amended, deleted_on
    }
    materialize_current(make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY))
    assert current_state(database_url) == current_state(reference_database)

    # an invoice's number is: every day's payments are validated again
    with closing(sqlite3.connect(source)) as conn, conn:
        conn.execute("UPDATE invoices SET invoice_number = invoice_number || '-R', updated_at = ? WHERE id = (SELECT max(invoice_id) FROM payments)", (later,))
    renumbered = staged_invoices_metadata(materialize_current(resources))
    assert renumbered["payment_days_from_staging"] == 0
    materialize_current(make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY))
    assert current_state(database_url) == current_state(reference_database)


def test_a_new_invoice_validates_again_only_the_days_with_payments_waiting_for_one(database_url, reference_database, tmp_path):
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=300, payments=6_000, days=DAYS, messy=True, end_date=LAST_DAY)).path
    early = "2020-01-01T00:00:00"
    waiting_day = FIRST_DAY + dt.timedelta(days=5)
    with closing(sqlite3.connect(source)) as conn, conn:
        missing_invoice = conn.execute("SELECT max(id) + 1000 FROM invoices").fetchone()[0]
        patient = conn.execute("SELECT min(id) FROM patients").fetchone()[0]
        # a payment for an invoice the billing application has not written yet: rejected until it has
        conn.execute(
            "INSERT INTO payments (invoice_id, patient_id, payment_date, amount, status, method, created_at, updated_at) VALUES (?, ?, ?, 42.5, 'paid', 'card', ?, ?)",
            (missing_invoice, patient, waiting_day.isoformat(), early, early),
        )
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY, report_retention_days=400)
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    # rejected for an unknown invoice or patient: a new id may be the one they reference
    waiting = {
        dt.date.fromisoformat(day)
        for (day,) in query(
            database_url, "SELECT DISTINCT partition_key FROM reporting.quarantine WHERE asset_key = 'staged_payments' AND reasons && %s::text[]", (list(accounting.WAITING_FOR_AN_ID),)
        )
        if day is not None and dt.date.fromisoformat(day) <= LAST_DAY
    }
    with_rejects = {day for (day,) in query(database_url, "SELECT day FROM staging.payment_day_counts WHERE day <= %s AND quarantined > 0", (LAST_DAY,))}
    assert waiting_day in waiting and len(waiting) < len(with_rejects) < DAYS
    # retention, on a quarantine period shorter than the report's, has deleted those rejects' rows meanwhile
    query(database_url, "DELETE FROM reporting.quarantine WHERE asset_key = 'staged_payments' AND reasons && %s::text[]", (list(accounting.WAITING_FOR_AN_ID),))
    with closing(sqlite3.connect(source)) as conn, conn:
        later = "2099-01-01T00:00:00"
        conn.execute(
            "INSERT INTO invoices VALUES (?, 'INV-LATE-1', ?, ?, ?, 100, 'open', ?, ?)",
            (missing_invoice, patient, FIRST_DAY.isoformat(), (FIRST_DAY + dt.timedelta(days=30)).isoformat(), later, later),
        )
    reused = staged_invoices_metadata(materialize_current(resources))
    assert reused["payment_days_from_staging"] == DAYS - len(waiting)
    assert query(database_url, "SELECT paid_cents FROM staging.invoices WHERE source_invoice_id = %s", (missing_invoice,)) == [(4250,)]
    materialize_current(make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY, report_retention_days=400))
    assert current_state(database_url) == current_state(reference_database)


def test_only_the_invoices_that_changed_are_staged_again(database_url, reference_database, tmp_path):
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=300, payments=6_000, days=DAYS, messy=True, end_date=LAST_DAY)).path
    early, later, latest = "2020-01-01T00:00:00", "2099-01-01T00:00:00", "2099-02-01T00:00:00"
    absent_patient = 990_001
    with closing(sqlite3.connect(source)) as conn, conn:
        # an invoice of a patient the billing application has not written yet: rejected until it has
        waiting = conn.execute(
            "INSERT INTO invoices (invoice_number, patient_id, issue_date, due_date, total_amount, status, created_at, updated_at) "
            "VALUES ('INV-WAIT-1', ?, ?, ?, 80, 'open', ?, ?)",
            (absent_patient, FIRST_DAY.isoformat(), (FIRST_DAY + dt.timedelta(days=30)).isoformat(), early, early),
        ).lastrowid
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY, report_retention_days=400)
    reference = make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY, report_retention_days=400)
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    assert staged_invoices_metadata(materialize_current(resources))["invoices_staged_again"] == "all"
    assert query(database_url, "SELECT count(*) FROM reporting.quarantine WHERE asset_key = 'staged_invoices' AND source_id = %s", (waiting,)) == [(1,)]

    def paid_payment(conn, skip: int = 0) -> tuple[int, int]:
        return conn.execute(
            "SELECT p.id, p.invoice_id FROM payments p JOIN invoices i ON i.id = p.invoice_id WHERE p.status = 'paid' AND p.payment_date BETWEEN ? AND ? "
            "AND typeof(p.amount) != 'text' ORDER BY p.id LIMIT 1 OFFSET ?",
            (FIRST_DAY.isoformat(), LAST_DAY.isoformat(), skip),
        ).fetchone()

    # 1. without a daily run in between: the changed days' payments are validated by staged_invoices itself
    with closing(sqlite3.connect(source)) as conn, conn:
        status_changed = conn.execute("SELECT min(id) FROM invoices WHERE status = 'open'").fetchone()[0]
        conn.execute("UPDATE invoices SET status = 'void', updated_at = ? WHERE id = ?", (later, status_changed))
        moved, left = paid_payment(conn)
        arrived = conn.execute("SELECT max(id) FROM invoices WHERE id NOT IN (?, ?)", (left, waiting)).fetchone()[0]
        conn.execute("UPDATE payments SET invoice_id = ?, updated_at = ? WHERE id = ?", (arrived, later, moved))
        deleted, lost = paid_payment(conn, skip=50)
        conn.execute("DELETE FROM payments WHERE id = ?", (deleted,))
        conn.execute(
            "INSERT INTO patients (id, first_name, last_name, created_at, updated_at) VALUES (?, 'Testfirst', 'Fakelast', ?, ?)", (absent_patient, later, later)
        )
    first = staged_invoices_metadata(materialize_current(resources))
    assert first["invoices_staged_again"] == len({status_changed, left, arrived, lost, waiting})
    materialize_current_in_full(reference, reference_database)
    assert current_state(database_url) == current_state(reference_database)
    assert query(database_url, "SELECT count(*) FROM staging.invoices WHERE source_invoice_id = %s", (waiting,)) == [(1,)]

    # 2. the everyday order: the daily job stages the changed days first, their sums then come from staging.payments
    with closing(sqlite3.connect(source)) as conn, conn:
        amended, amended_invoice = paid_payment(conn, skip=100)
        conn.execute("UPDATE payments SET amount = amount + 7, updated_at = ? WHERE id = ?", (latest, amended))
        conn.execute(
            "INSERT INTO invoices (invoice_number, patient_id, issue_date, due_date, total_amount, status, created_at, updated_at) "
            "VALUES ('INV-NEW-1', ?, ?, ?, 55, 'open', ?, ?)",
            (absent_patient, FIRST_DAY.isoformat(), (FIRST_DAY + dt.timedelta(days=30)).isoformat(), latest, latest),
        )
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    second = staged_invoices_metadata(materialize_current(resources))
    assert second["payment_days_from_staging"] == DAYS and second["payments_validated"] < 100
    assert second["invoices_staged_again"] == 2  # the amended payment's invoice and the new one
    materialize_current_in_full(reference, reference_database)
    assert current_state(database_url) == current_state(reference_database)
    assert amended_invoice in {row[0] for row in current_state(database_url)["invoices"]}


def test_an_invoice_neither_staged_nor_quarantined_is_staged_again(database_url, tmp_path):
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=300, payments=6_000, days=DAYS, end_date=LAST_DAY)).path
    with closing(sqlite3.connect(source)) as conn, conn:
        conn.execute(
            "INSERT INTO invoices (invoice_number, patient_id, issue_date, due_date, total_amount, status, created_at, updated_at) "
            "VALUES ('INV-NOBODY-1', 990001, '2026-01-05', '2026-02-04', 80, 'open', '2020-01-01', '2020-01-01')"
        )
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY)
    materialize_current(resources)
    before = current_state(database_url)
    assert before["quarantine"] and staged_invoices_metadata(materialize_current(resources))["invoices_staged_again"] == 0
    # retention deletes quarantine rows a year old; the invoices they held did not change since
    query(database_url, "DELETE FROM reporting.quarantine WHERE asset_key = 'staged_invoices' AND source_id = %s", (before["quarantine"][0][0],))
    assert staged_invoices_metadata(materialize_current(resources))["invoices_staged_again"] == 1
    assert current_state(database_url) == before


def test_a_day_before_the_retention_cutoff_counts_only_while_staging_holds_its_rows(database_url, tmp_path):
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=200, payments=3_000, days=DAYS, end_date=LAST_DAY)).path
    materialize_days(make_resources(database_url, source, tmp_path / "home", today=LAST_DAY), FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    day = query(database_url, "SELECT min(day) FROM staging.payment_day_counts WHERE staged > 0")[0][0]
    cutoff = day + dt.timedelta(days=1)
    assert day in _current(database_url, LAST_DAY, cutoff)
    # retention deleted the day's rows, but a run that staged it meanwhile wrote its counts again
    query(database_url, "DELETE FROM staging.payments WHERE payment_date = %s", (day,))
    assert day not in _current(database_url, LAST_DAY, cutoff)
    assert len(_current(database_url, LAST_DAY, cutoff)) == DAYS - 1
    assert day in _current(database_url, LAST_DAY, day)  # from the cutoff on, the counts are trusted: retention has not reached them


def changed_invoices_recorded(url: str) -> set[int | None]:
    return {i for (i,) in query(url, "SELECT source_invoice_id FROM staging.invoice_payment_changes")}


def test_day_refreshes_record_the_invoices_whose_payments_changed_and_only_those_are_summed(database_url, reference_database, tmp_path):
    """The everyday order, one day per run: staged_invoices sums the payments of the invoices those runs recorded,
    not of every invoice, and stages the same rows as a warehouse that staged every invoice."""
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=300, payments=6_000, days=DAYS, messy=True, end_date=LAST_DAY)).path
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY, report_retention_days=400)
    reference = make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY, report_retention_days=400)
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    assert changed_invoices_recorded(database_url) == {None}  # more days than are listed: compare every invoice
    assert staged_invoices_metadata(materialize_current(resources))["invoices_summed"] == "all"
    unsettled = changed_invoices_recorded(database_url)  # the invoices of the undated payments, validated outside staging.payments
    assert None not in unsettled and len(unsettled) < 100
    later = "2099-01-01T00:00:00"
    amended_on, moved_from, moved_to, deleted_on, reassigned_on = (FIRST_DAY + dt.timedelta(days=d) for d in (10, 20, 30, 40, 50))

    def paid_payment_on(day: dt.date) -> tuple[int, int]:  # a valid one: staged
        return query(
            database_url,
            "SELECT source_payment_id, source_invoice_id FROM staging.payments WHERE payment_date = %s AND payment_status = 'paid' "
            "AND source_invoice_id IS NOT NULL ORDER BY 1 LIMIT 1",
            (day,),
        )[0]

    with closing(sqlite3.connect(source)) as conn, conn:
        amended, amended_invoice = paid_payment_on(amended_on)
        conn.execute("UPDATE payments SET amount = amount + 3, updated_at = ? WHERE id = ?", (later, amended))
        moved, moved_invoice = paid_payment_on(moved_from)
        conn.execute("UPDATE payments SET payment_date = ?, updated_at = ? WHERE id = ?", (moved_to.isoformat(), later, moved))
        deleted, deleted_invoice = paid_payment_on(deleted_on)
        conn.execute("DELETE FROM payments WHERE id = ?", (deleted,))
        reassigned, left_invoice = paid_payment_on(reassigned_on)
        arrived_invoice = query(database_url, "SELECT max(source_invoice_id) FROM staging.invoices WHERE source_invoice_id <> %s", (left_invoice,))[0][0]
        conn.execute("UPDATE payments SET invoice_id = ?, updated_at = ? WHERE id = ?", (arrived_invoice, later, reassigned))
    for day in (amended_on, moved_from, moved_to, deleted_on, reassigned_on):
        materialize_days(resources, day.isoformat(), day.isoformat())
    recorded = changed_invoices_recorded(database_url) - unsettled
    # the moved payment's invoice keeps its sum; its last payment date moves only if that was its latest day
    assert {amended_invoice, deleted_invoice, left_invoice, arrived_invoice} <= recorded <= {amended_invoice, deleted_invoice, left_invoice, arrived_invoice, moved_invoice}
    run = staged_invoices_metadata(materialize_current(resources))
    assert run["payment_days_from_staging"] == DAYS and run["invoices_summed"] == len(recorded | unsettled)
    # of those, the ones whose sums differ from their staged row's (the moved payment's may not)
    assert len({amended_invoice, deleted_invoice, left_invoice, arrived_invoice}) <= run["invoices_staged_again"] <= len(recorded)
    materialize_current_in_full(reference, reference_database)
    assert current_state(database_url) == current_state(reference_database)
    # a day refreshed with nothing new records nothing
    materialize_days(resources, amended_on.isoformat(), amended_on.isoformat())
    assert changed_invoices_recorded(database_url) == unsettled


def test_an_invoice_summed_from_a_day_not_yet_restaged_is_summed_again_once_it_is(database_url, reference_database, tmp_path):
    """A payment moves to another invoice and back. In between, staged_invoices validates its day itself (staging.payments
    still holds it on the first invoice); once the day is staged again, the invoices it summed then are summed again."""
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=300, payments=6_000, days=DAYS, end_date=LAST_DAY)).path
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY, report_retention_days=400)
    reference = make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY, report_retention_days=400)
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    materialize_current(resources)
    day = FIRST_DAY + dt.timedelta(days=15)
    payment, first_invoice = query(
        database_url,
        "SELECT source_payment_id, source_invoice_id FROM staging.payments WHERE payment_date = %s AND payment_status = 'paid' "
        "AND source_invoice_id IS NOT NULL ORDER BY 1 LIMIT 1",
        (day,),
    )[0]
    second_invoice = query(database_url, "SELECT max(source_invoice_id) FROM staging.invoices WHERE source_invoice_id <> %s", (first_invoice,))[0][0]
    with closing(sqlite3.connect(source)) as conn, conn:
        conn.execute("UPDATE payments SET invoice_id = ?, updated_at = '2099-01-01T00:00:00' WHERE id = ?", (second_invoice, payment))
    # the day is not current: its payments are validated by staged_invoices, and staging.payments still has the first invoice
    away = staged_invoices_metadata(materialize_current(resources))
    assert away["payment_days_from_staging"] == DAYS - 1 and away["invoices_summed"] != "all"
    materialize_current_in_full(reference, reference_database)
    assert current_state(database_url) == current_state(reference_database)
    assert {first_invoice, second_invoice} <= changed_invoices_recorded(database_url)  # summed from an unsettled day
    with closing(sqlite3.connect(source)) as conn, conn:
        conn.execute("UPDATE payments SET invoice_id = ?, updated_at = '2099-01-02T00:00:00' WHERE id = ?", (first_invoice, payment))
    materialize_days(resources, day.isoformat(), day.isoformat())  # the same rows as before it moved: no sum changed
    back = staged_invoices_metadata(materialize_current(resources))
    assert back["payment_days_from_staging"] == DAYS and back["invoices_summed"] != "all"
    materialize_current_in_full(reference, reference_database)
    assert current_state(database_url) == current_state(reference_database)


def test_retention_records_the_invoices_of_the_staged_payments_it_deletes(database_url, tmp_path):
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=200, payments=3_000, days=DAYS, end_date=LAST_DAY)).path
    materialize_days(make_resources(database_url, source, tmp_path / "home", today=LAST_DAY), FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    query(database_url, "DELETE FROM staging.invoice_payment_changes")
    cutoff = FIRST_DAY + dt.timedelta(days=10)
    invoices = {i for (i,) in query(database_url, "SELECT source_invoice_id FROM staging.payments WHERE payment_date < %s AND source_invoice_id IS NOT NULL", (cutoff,))}
    (rule,) = [r for r in retention.RULES if r.table == "staging.payments"]
    assert retention.delete_older_than(database_url, rule, cutoff, batch_rows=5) > 5  # in several transactions
    assert invoices and changed_invoices_recorded(database_url) == invoices


def test_a_warehouse_staged_before_the_listing_sums_every_invoice_at_its_next_run(database_url, tmp_path):
    """014 on a warehouse whose invoices an earlier release staged: one NULL row, so the next run adds up every invoice's sums."""
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=50, payments=300, days=DAYS, end_date=LAST_DAY)).path
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY)
    materialize_current(resources)
    query(database_url, "DELETE FROM staging.invoice_payment_changes; DELETE FROM reporting.schema_version WHERE version = 14")
    assert "014_invoice_payment_changes.sql" in apply_migrations(database_url)
    assert changed_invoices_recorded(database_url) == {None}
    assert staged_invoices_metadata(materialize_current(resources))["invoices_summed"] == "all"


def test_an_invoice_staged_again_for_its_own_change_keeps_the_sums_of_its_payments(database_url, reference_database, tmp_path):
    """An invoice's amount and status change in the source, its payments do not: staged again with its paid sum, not with none."""
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=200, payments=3_000, days=DAYS, end_date=LAST_DAY)).path
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY)
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    materialize_current(resources)  # sums every invoice's once (the backfill listed NULL)
    invoice, paid = query(database_url, "SELECT source_invoice_id, paid_cents FROM staging.invoices WHERE paid_cents > 0 AND invoice_status = 'open' ORDER BY 1 LIMIT 1")[0]
    with closing(sqlite3.connect(source)) as conn, conn:
        conn.execute("UPDATE invoices SET total_amount = total_amount + 25, status = 'written_off', updated_at = '2099-01-01T00:00:00' WHERE id = ?", (invoice,))
    run = staged_invoices_metadata(materialize_current(resources))
    assert run["invoices_staged_again"] == 1 and run["invoices_summed"] != "all"
    assert query(database_url, "SELECT paid_cents, invoice_status FROM staging.invoices WHERE source_invoice_id = %s", (invoice,)) == [(paid, "written_off")]
    materialize_current_in_full(make_resources(reference_database, source, tmp_path / "reference", today=LAST_DAY), reference_database)
    assert current_state(database_url) == current_state(reference_database)


def test_more_unsettled_invoices_than_are_listed_are_recorded_as_every_invoice(database_url, tmp_path, monkeypatch):
    """More unsettled invoices than SOME_CANDIDATES (here: any) are recorded as one NULL, not one row each."""
    monkeypatch.setattr(invoice_changes, "SOME_CANDIDATES", 0)
    source = generate_sample_database(tmp_path / "clinic.db", SampleSpec(patients=200, payments=3_000, days=DAYS, end_date=LAST_DAY)).path
    resources = make_resources(database_url, source, tmp_path / "home", today=LAST_DAY, report_retention_days=400)
    materialize_days(resources, FIRST_DAY.isoformat(), LAST_DAY.isoformat())
    with closing(sqlite3.connect(source)) as conn, conn:  # a day whose payments changed but are not staged again yet: its invoices are unsettled
        conn.execute("UPDATE payments SET amount = amount + 1, updated_at = '2099-01-01T00:00:00' WHERE id = (SELECT min(id) FROM payments WHERE payment_date = ?)", (LAST_DAY.isoformat(),))
    assert staged_invoices_metadata(materialize_current(resources))["payment_days_from_staging"] == DAYS - 1
    assert query(database_url, "SELECT source_invoice_id FROM staging.invoice_payment_changes") == [(None,)]
