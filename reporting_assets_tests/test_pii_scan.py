"""No patient identifier from the source reaches PostgreSQL or Dagster (SPEC section 3), checked exhaustively.

A messy sample (300 patients, 3,000 payments, 40 days) goes through every materializable asset
and the run-status recorder (etl_process_status, failure messages included); then every
column of every table in the ``reporting`` and ``staging`` schemas (found through
information_schema, so a table or column added later is scanned too), the Dagster event log
and run records, everything the runs printed, every record sent through Python's logging (at
every level, DEBUG included: pytest captures those apart from stdout/stderr) and every file the
Dagster instance wrote under its storage folder (event log database, compute logs) are searched
for each patient's first and last name, SSN, e-mail, phone, address, ZIP code and birth date.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from dagster._serdes import serialize_value
from psycopg2 import sql

from reporting_assets.defs.automation.run_status import record_runs
from reporting_assets.source.contract import PII_COLUMNS
from reporting_assets.source.sample_data import SampleSpec, generate_sample_database
from reporting_assets.warehouse.database import libpq_dsn
from reporting_assets_tests.conftest import DAILY, TODAY, make_resources, materialize_current, materialize_days, query

DIMENSIONS = ["dim_date", "dim_patient", "dim_user"]

SCANNED_SCHEMAS = ("reporting", "staging", "raw")
# Matching that is sound for every kind of value:
# * values made only of digits and hyphens (SSN 900-00-0042, ZIP 00000-0042, birth date 1970-01-05)
#   are short and look like other data, so they must equal a whole "digit run" of the scanned text:
#   a maximal run of digits and hyphens. A ZIP then never matches inside a longer number, a
#   timestamp's date part still matches (1970-01-05T00:00 splits at the T), and a UUID's hex
#   groups cannot form the 3-2-4 / 5-4 / 4-2-2 shapes (their inner groups have 4 characters);
# * values with letters (names, e-mail, phone with extension, street address) of at least
#   MIN_SUBSTRING characters are searched as case-insensitive substrings;
# * shorter values with letters must equal a whole scanned value (case-insensitive).
MIN_SUBSTRING = 8
DIGIT_RUNS = re.compile(r"[0-9-]+")
DIGITS_AND_HYPHENS = re.compile(r"[0-9-]+")


@dataclass
class PiiIndex:
    runs: dict[str, str] = field(default_factory=dict)  # digit-and-hyphen value -> what it is
    substrings: dict[str, str] = field(default_factory=dict)  # lower-cased long value -> what it is
    whole: dict[str, str] = field(default_factory=dict)  # lower-cased short value -> what it is

    @classmethod
    def from_source(cls, path: Path) -> PiiIndex:
        index = cls()
        with closing(sqlite3.connect(path)) as conn:
            rows = conn.execute(f"SELECT id, {', '.join(PII_COLUMNS)} FROM patients").fetchall()
        for pid, *values in rows:
            for column, value in zip(PII_COLUMNS, values):
                if value is None or str(value).strip() == "":
                    continue
                index.add(str(value).strip(), f"patients.{column} of patient {pid}")
        return index

    def add(self, value: str, what: str) -> None:
        if DIGITS_AND_HYPHENS.fullmatch(value):
            self.runs[value] = what
        elif len(value) >= MIN_SUBSTRING:
            self.substrings[value.lower()] = what
        else:
            self.whole[value.lower()] = what

    def hits(self, texts: list[str]) -> list[str]:
        """Every PII value found in ``texts`` (each an individual value: a cell, a log record)."""
        found: list[str] = []
        runs = set()
        lowered = []
        for text in texts:
            runs.update(DIGIT_RUNS.findall(text))
            lowered.append(text.lower())
        found += [f"{self.runs[v]} ({v!r})" for v in sorted(runs & self.runs.keys())]
        found += [f"{self.whole[v]} ({v!r})" for v in sorted({t.strip() for t in lowered} & self.whole.keys())]
        blob = "\x00".join(lowered)
        found += [f"{what} ({v!r})" for v, what in self.substrings.items() if v in blob]
        return found


def warehouse_cells(url: str) -> list[str]:
    """Every non-NULL value of every column of every table and view in the scanned schemas, as text."""
    columns = query(
        url,
        "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = ANY(%s) ORDER BY 1, 2, c.ordinal_position",
        (list(SCANNED_SCHEMAS),),
    )
    assert {(s, t) for s, t, _ in columns} >= {("reporting", "patient_payment_history"), ("staging", "payments")} | {("reporting", d) for d in DIMENSIONS}
    cells: list[str] = []
    with closing(psycopg2.connect(libpq_dsn(url))) as conn, conn.cursor() as cur:
        for schema, table, column in columns:
            cur.execute(
                sql.SQL("SELECT {col}::text FROM {tbl} WHERE {col} IS NOT NULL").format(
                    col=sql.Identifier(column), tbl=sql.Identifier(schema, table)
                )
            )
            cells += [row[0] for row in cur.fetchall()]
    return cells


def dagster_records(instance: dg.DagsterInstance) -> list[str]:
    """Run records and every event (logs, metadata, check results, failures) of every run, as text."""
    texts: list[str] = []
    for run in instance.get_runs():
        texts.append(serialize_value(run))
        texts += [serialize_value(record) for record in instance.all_logs(run.run_id)]
    return texts


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("pii") / "clinic.db"
    summary = generate_sample_database(path, SampleSpec(patients=300, payments=3_000, days=40, seed=11, messy=True, end_date=TODAY))
    return path, summary


def logged_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every Python logging record of the test (all phases, all levels), message and arguments."""
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    return [f"{r.name} {r.levelname} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in records]


def instance_files(folder: Path) -> list[str]:
    """Every file under the Dagster instance's folder (SQLite event log, run storage, compute logs), as text lines."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return [line for p in files for line in p.read_bytes().decode("utf-8", "replace").splitlines()]


def test_no_patient_identifier_reaches_postgres_or_dagster(sample, database_url, tmp_path, capfd, caplog):
    caplog.set_level(logging.DEBUG)  # every level of every logger, not only warnings
    path, summary = sample
    pii = PiiIndex.from_source(path)
    assert len(pii.runs) + len(pii.substrings) + len(pii.whole) >= 300 * len(PII_COLUMNS) * 0.9
    # premise of whole-run matching: no non-PII source date equals a birth date (else a hit would not mean a leak)
    with closing(sqlite3.connect(path)) as conn:
        source_dates = {r[0][:10] for r in conn.execute("SELECT payment_date FROM payments UNION SELECT issue_date FROM invoices UNION SELECT due_date FROM invoices") if isinstance(r[0], str)}
    assert not source_dates & pii.runs.keys()

    instance_dir = tmp_path / "dagster_instance"
    instance_dir.mkdir()
    resources = make_resources(database_url, path, tmp_path / "home")
    # an instance with storage on disk (not in memory): whatever it writes there is scanned too
    with dg.instance_for_test(temp_dir=str(instance_dir)) as instance:
        # as the jobs run them: each fact job ends with the dimensions its facts reference
        assert materialize_current(resources, instance=instance).success
        daily = materialize_days(resources, summary.first_date.isoformat(), TODAY.isoformat(), instance=instance, selection=DAILY + DIMENSIONS)
        assert daily.success
        assert {e.asset_key.path[-1] for e in daily.get_asset_materialization_events()} == {*DAILY, *DIMENSIONS}
        assert all(query(database_url, f"SELECT count(*) > 0 FROM reporting.{d}") == [(True,)] for d in DIMENSIONS)
        # a failing run too: its error message lands in the event log
        broken = {**resources, "billing_source": type(resources["billing_source"])(path=str(tmp_path / "missing.db"))}
        assert not materialize_current(broken, instance=instance, raise_on_error=False).success
        # etl_process_status from these runs (what the run-status sensor writes), failure message included
        assert record_runs(instance, resources["warehouse"], None)[0] == 3
        events = dagster_records(instance)
    assert any("does not exist; set REPORTING_SOURCE_DB" in text for text in events)  # the failed run failed for the missing source

    cells = warehouse_cells(database_url)
    assert len(cells) > 3_000  # the pipeline really wrote the sample
    printed = capfd.readouterr()
    logged = logged_records(caplog)
    files = instance_files(instance_dir)
    assert any("staged" in text and "payments" in text for text in logged + printed.err.splitlines())  # the runs' logs were captured
    assert files  # the instance wrote its storage there
    assert pii.hits(cells) == []
    assert pii.hits(events) == []
    assert pii.hits(printed.out.splitlines() + printed.err.splitlines()) == []
    assert pii.hits(logged) == []
    assert pii.hits(files) == []

    # the scan itself: a column added later (here a new table in each schema) with PII is caught
    first_patient = next(iter(pii.runs.values())).split(" of ")[1]
    planted = [v for v, what in {**pii.runs, **pii.substrings, **pii.whole}.items() if what.endswith(first_patient)]
    assert len(planted) == len(PII_COLUMNS)
    query(database_url, "CREATE TABLE reporting.later_export (note TEXT, born DATE, seen TIMESTAMP)")
    query(database_url, "CREATE TABLE staging.later_copy (v TEXT)")
    query(database_url, "INSERT INTO staging.later_copy SELECT unnest(%s::text[])", (planted,))
    birth_date = next(v for v, what in pii.runs.items() if what.startswith("patients.date_of_birth") and what.endswith(first_patient))
    query(
        database_url,
        "INSERT INTO reporting.later_export VALUES (%s, %s, %s)",
        (f"Call {planted[-1].upper()} back", birth_date, f"{birth_date} 08:30"),
    )
    found = pii.hits(warehouse_cells(database_url))
    assert len(found) >= len(PII_COLUMNS)
    assert {hit.split(" of ")[0] for hit in found} == {f"patients.{c}" for c in PII_COLUMNS}
    # ... and so is a PII value logged at DEBUG through Python's logging, as a message argument
    logging.getLogger("reporting_assets.scan_check").debug("looked up %s", planted[0])
    in_logs = pii.hits(logged_records(caplog))
    assert in_logs and all(f"of {first_patient} (" in hit for hit in in_logs)
