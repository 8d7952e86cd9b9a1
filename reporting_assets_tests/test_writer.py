"""The one write path: atomic per partition, idempotent, and safe with two writers on one partition."""

import datetime as dt
import threading
import time
from decimal import Decimal as D

import numpy as np
import pandas as pd
import psycopg2.errors
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg2 import sql

from reporting_assets.warehouse.database import transaction
from reporting_assets.dates import DateWindow
from reporting_assets.warehouse import writer
from reporting_assets.warehouse.writer import TableSpec, copy_frame, merge_rows, replace_window
from reporting_assets_tests.conftest import query

HISTORY = TableSpec(
    "reporting", "patient_payment_history",
    ("patient_id", "payment_date", "amount", "payment_status", "invoice_id", "source_payment_id"), date_column="payment_date",
)
REVENUE = TableSpec(
    "reporting", "revenue_metrics", ("date_key", "total_revenue", "payment_count", "average_payment"),
    date_column="date_key", key="date_key", has_updated_at=True,
)
DAY = DateWindow(dt.date(2026, 3, 2), dt.date(2026, 3, 3))


def payments(ids, amount="1.00"):
    return pd.DataFrame(
        {
            "patient_id": ["pt_" + "a" * 32] * len(ids),
            "payment_date": pd.to_datetime(["2026-03-02"] * len(ids)),
            "amount": [D(amount)] * len(ids),
            "payment_status": ["paid"] * len(ids),
            "invoice_id": ['INV-"quoted",\ttab\nline'] * len(ids),  # CSV COPY keeps any text intact
            "source_payment_id": list(ids),
        }
    )


def history(url):
    return query(url, "SELECT source_payment_id, amount, invoice_id FROM reporting.patient_payment_history ORDER BY 1")


def test_replace_window_swaps_the_partition(database_url):
    with transaction(database_url) as conn:
        replace_window(conn, HISTORY, [payments([1, 2])], DAY, run_id="r1")
    with transaction(database_url) as conn:
        replace_window(conn, HISTORY, [payments([3]), payments([4])], DAY, run_id="r2")
    assert [r[0] for r in history(database_url)] == [3, 4]
    assert history(database_url)[0][2] == 'INV-"quoted",\ttab\nline'


def test_a_write_that_raises_midway_leaves_the_old_rows(database_url):
    with transaction(database_url) as conn:
        replace_window(conn, HISTORY, [payments([1, 2])], DAY, run_id="r1")
    before = history(database_url)

    def chunks():
        yield payments([10, 11])  # deleted the old rows and copied these ...
        raise RuntimeError("source went away")  # ... then the run breaks

    with pytest.raises(RuntimeError):
        with transaction(database_url) as conn:
            replace_window(conn, HISTORY, chunks(), DAY, run_id="r2")
    assert history(database_url) == before


def test_two_concurrent_writers_on_one_partition_leave_no_duplicates(database_url):
    started = threading.Event()
    errors = []

    def slow_writer():
        try:
            with transaction(database_url) as conn:
                replace_window(conn, HISTORY, [payments([1, 2, 3])], DAY, run_id="slow")
                started.set()
                time.sleep(1.0)  # holds the partition while the other writer arrives
        except Exception as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    def fast_writer():
        started.wait(10)
        try:
            with transaction(database_url) as conn:
                replace_window(conn, HISTORY, [payments([1, 2, 3])], DAY, run_id="fast")
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=slow_writer), threading.Thread(target=fast_writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert [r[0] for r in history(database_url)] == [1, 2, 3]
    assert query(database_url, "SELECT DISTINCT dagster_run_id FROM reporting.patient_payment_history") == [("fast",)]


def test_merge_keeps_created_at_and_removes_missing_keys(database_url):
    def revenue(days):
        return pd.DataFrame(
            {"date_key": pd.to_datetime(days), "total_revenue": [D("1.00")] * len(days), "payment_count": [1] * len(days), "average_payment": [D("1.00")] * len(days)}
        )

    window = DateWindow(dt.date(2026, 3, 1), dt.date(2026, 3, 4))
    with transaction(database_url) as conn:
        merge_rows(conn, REVENUE, revenue(["2026-03-01", "2026-03-02", "2026-03-03"]), run_id="r1", window=window)
    created = dict(query(database_url, "SELECT date_key::text, created_at FROM reporting.revenue_metrics"))
    with transaction(database_url) as conn:
        merge_rows(conn, REVENUE, revenue(["2026-03-01", "2026-03-03"]), run_id="r2", window=window)
    after = dict(query(database_url, "SELECT date_key::text, created_at FROM reporting.revenue_metrics"))
    assert after == {k: v for k, v in created.items() if k != "2026-03-02"}
    assert query(database_url, "SELECT count(*) FROM reporting.revenue_metrics WHERE updated_at > created_at AND dagster_run_id = 'r2'")[0][0] == 2


def indexes(url, table="reporting.patient_payment_history"):
    """Each index of the table: name -> (its oid, its definition). A rebuilt index has a new oid."""
    rows = query(url, "SELECT indexrelid::regclass::text, indexrelid::int, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass", (table,))
    return {name: (oid, definition) for name, oid, definition in rows}


def test_a_first_load_builds_the_secondary_indexes_after_the_rows(database_url):
    before = indexes(database_url)
    with transaction(database_url) as conn:
        replace_window(conn, HISTORY, [payments([1, 2]), payments([3])], DAY, run_id="r1")
    loaded = indexes(database_url)
    # the same indexes, as sql/001 defines them; the seed's three secondary ones built anew, the primary key kept
    assert {name: d for name, (_, d) in loaded.items()} == {name: d for name, (_, d) in before.items()}
    rebuilt = sorted(name for name in before if loaded[name][0] != before[name][0])
    assert rebuilt == ["reporting.idx_patient_payment_date", "reporting.idx_patient_payment_patient", "reporting.idx_patient_payment_status"]
    assert [r[0] for r in history(database_url)] == [1, 2, 3]
    assert query(database_url, "SELECT count(*) FROM reporting.patient_payment_history WHERE patient_id = %s", ("pt_" + "a" * 32,)) == [(3,)]

    # a table with rows keeps its indexes up to date as it is written
    with transaction(database_url) as conn:
        replace_window(conn, HISTORY, [payments([4])], DAY, run_id="r2")
    assert indexes(database_url) == loaded
    assert [r[0] for r in history(database_url)] == [4]


def test_a_merge_into_an_empty_table_builds_its_secondary_indexes_after_the_rows(database_url):
    """Both merges (rows selected server-side, rows COPYed) fill an empty table as a first load."""
    from reporting_assets.defs.reporting.outstanding_payments import TABLE as OUTSTANDING
    from reporting_assets.warehouse.writer import merge_rows_from_select

    def outstanding(*invoices):
        rows = ", ".join(f"('pt_{'b' * 32}', '{invoice}', 12.50, 40, NULL::date, 'overdue')" for invoice in invoices)
        return sql.SQL(f"SELECT * FROM (VALUES {rows}) AS v")

    def merged():
        return query(database_url, "SELECT invoice_id, amount_due, dagster_run_id FROM reporting.outstanding_payments ORDER BY 1")

    before = indexes(database_url, "reporting.outstanding_payments")
    with transaction(database_url) as conn:
        assert merge_rows_from_select(conn, OUTSTANDING, outstanding("INV-2", "INV-1"), run_id="r1") == (2, 2)
    loaded = indexes(database_url, "reporting.outstanding_payments")
    # the same indexes; the three secondary ones built anew, the primary key and the invoice's unique key kept
    assert {name: d for name, (_, d) in loaded.items()} == {name: d for name, (_, d) in before.items()}
    rebuilt = sorted(name for name in before if loaded[name][0] != before[name][0])
    assert rebuilt == ["reporting.idx_outstanding_days", "reporting.idx_outstanding_patient", "reporting.idx_outstanding_status"]
    assert merged() == [("INV-1", D("12.50"), "r1"), ("INV-2", D("12.50"), "r1")]
    assert query(database_url, "SELECT invoice_count, amount_due FROM reporting.outstanding_aging") == [(2, D("25.00"))]

    # a table with rows keeps its indexes up to date as it is merged into
    with transaction(database_url) as conn:
        assert merge_rows_from_select(conn, OUTSTANDING, outstanding("INV-3", "INV-1"), run_id="r2") == (2, 3)
    assert indexes(database_url, "reporting.outstanding_payments") == loaded
    assert merged() == [("INV-1", D("12.50"), "r2"), ("INV-3", D("12.50"), "r2")]

    # merge_rows (rows COPYed, not selected) takes the same path: revenue_metrics' two secondary indexes
    before = indexes(database_url, "reporting.revenue_metrics")
    day = pd.DataFrame({"date_key": pd.to_datetime(["2026-03-02"]), "total_revenue": [D("1.00")], "payment_count": [1], "average_payment": [D("1.00")]})
    with transaction(database_url) as conn:
        assert merge_rows(conn, REVENUE, day, run_id="r1", window=DAY) == (1, 1)
    loaded = indexes(database_url, "reporting.revenue_metrics")
    assert {name: d for name, (_, d) in loaded.items()} == {name: d for name, (_, d) in before.items()}
    assert sorted(name for name in before if loaded[name][0] != before[name][0]) == ["reporting.idx_revenue_metrics_created", "reporting.idx_revenue_metrics_date"]
    assert query(database_url, "SELECT date_key::text, total_revenue FROM reporting.revenue_metrics") == [("2026-03-02", D("1.00"))]


@pytest.fixture
def first_loads(monkeypatch):
    """What each first_load of the writer returned (whether it dropped the indexes)."""
    from reporting_assets.warehouse import writer

    began: list[bool] = []
    real = writer.first_load
    monkeypatch.setattr(writer, "first_load", lambda conn, table: began.append(real(conn, table)) or began[-1])
    return began


def test_a_first_load_that_fails_leaves_the_indexes(database_url, first_loads):
    before = indexes(database_url)

    def chunks():
        yield payments([10, 11])
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError):
        with transaction(database_url) as conn:
            replace_window(conn, HISTORY, chunks(), DAY, run_id="r1")
    assert first_loads == [True]  # the indexes were dropped, and are back with the rollback
    assert indexes(database_url) == before
    assert history(database_url) == []


def test_a_transaction_cannot_commit_with_indexes_dropped_and_not_built_again(database_url):
    """staging.begin_first_load without end_first_load: the commit fails (sql/015's deferred check) and the indexes stay."""
    before = indexes(database_url)
    with pytest.raises(psycopg2.errors.InvalidTransactionTermination):
        with transaction(database_url) as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT staging.begin_first_load('reporting.patient_payment_history'::regclass)")
                assert cur.fetchone() == (True,)
    assert indexes(database_url) == before
    assert query(database_url, "SELECT count(*) FROM first_load.dropped_indexes") == [(0,)]


def test_a_first_load_waits_for_no_reader(database_url, first_loads):
    """An empty table another transaction is reading is written with its indexes kept: no one waits."""
    before = indexes(database_url)
    with transaction(database_url) as reader:
        with reader.cursor() as cur:
            cur.execute("SELECT count(*) FROM reporting.patient_payment_history")  # holds its lock until commit
        done = threading.Event()

        def write():
            with transaction(database_url) as conn:
                replace_window(conn, HISTORY, [payments([1, 2])], DAY, run_id="r1")
            done.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert done.wait(30), "the write waited for the reader"
        writer.join()
    assert first_loads == [False]
    assert indexes(database_url) == before
    assert [r[0] for r in history(database_url)] == [1, 2]


# every kind of column a staging or reporting frame holds, with the values COPY's CSV format must quote
_text = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30),  # PostgreSQL refuses NUL
    st.sampled_from(["", "\\N", "\\", "\\.", "a\tb", "line\nbreak", "cr\rlf\r\n", '"quoted",', "\\t literal"]),
)
_row = st.tuples(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.none() | _text,
    st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.none() | st.dates(min_value=dt.date(1678, 1, 1), max_value=dt.date(2262, 4, 10)),
    st.none() | st.decimals(min_value=D("-999999999999.99"), max_value=D("999999999999.99"), places=2),
    st.booleans(),
    st.none() | st.floats(allow_nan=False, allow_infinity=False),
    st.none() | st.integers(min_value=-(10**6), max_value=10**6) | _text,  # one object column mixing kinds: each value's str
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_row, min_size=1, max_size=8))
def test_copy_frame_writes_every_value_as_it_reads_back(database_url, monkeypatch, rows):
    # several pieces of lines, each read in several parts
    monkeypatch.setattr(writer, "COPY_CSV_ROWS", 3)
    monkeypatch.setattr(writer, "COPY_READ_BYTES", 7)
    ids, texts, counts, days, amounts, flags, ratios, mixed = map(list, zip(*rows))
    frame = pd.DataFrame(
        {
            "id": pd.Series(ids, dtype="int64"),
            "label": pd.Series(texts, dtype=object),
            "count": pd.array(counts, dtype="Int64"),
            "day": pd.to_datetime(pd.Series(days, dtype=object)),
            "amount": pd.Series(amounts, dtype=object),
            "flag": pd.Series(flags, dtype=bool),
            "ratio": pd.Series([np.nan if r is None else r for r in ratios], dtype="float64"),
            "mixed": pd.Series(mixed, dtype=object),
            "not_written": ["x"] * len(rows),
        }
    )
    with transaction(database_url) as conn:
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE copied (position serial, id bigint, label text, count bigint, day date, "
                "amount numeric(14, 2), flag boolean, ratio double precision, mixed text) ON COMMIT DROP"
            )
        columns = ["id", "label", "count", "day", "amount", "flag", "ratio", "mixed"]
        assert copy_frame(conn, sql.Identifier("copied"), columns, frame) == len(rows)
        with conn.cursor() as cur:
            cur.execute("SELECT id, label, count, day, amount, flag, ratio, mixed FROM copied ORDER BY position")
            assert cur.fetchall() == [(*row[:-1], None if row[-1] is None else str(row[-1])) for row in rows]
