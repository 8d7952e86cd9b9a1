"""Every write path is one transaction: when its second half fails after its first half ran, the table keeps its old rows.

Each write has two halves: a delete (the window's rows, or the keys no longer present) and an
insert. Each test lets the delete run and makes the insert fail at execution, then checks that
the table is exactly as before. A ``conn.commit()`` added between the halves would make the
delete stick and fail these tests.

* replace_window (staging.payments per window, staging.invoices as a whole): the chunk
  iterator raises after the delete and the first COPY;
* replace_window_from_select (patient_payment_history): the server-side INSERT ... SELECT
  fails (a row breaking a CHECK constraint, or an error raised by the SELECT itself);
* merge_rows (revenue_metrics per window, outstanding_payments as a whole): the incoming
  rows are staged, the DELETE of keys no longer present runs, and the upsert breaks a CHECK.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pandas as pd
import psycopg2
import pytest
from psycopg2 import sql

from reporting_assets.dates import DateWindow
from reporting_assets.defs.reporting import outstanding_payments, patient_payment_history, revenue_metrics
from reporting_assets.defs.staging.assets import STAGED_INVOICES
from reporting_assets.warehouse.database import transaction
from reporting_assets.warehouse.writer import merge_rows, replace_window, replace_window_from_select
from reporting_assets_tests.conftest import query

HISTORY = patient_payment_history.TABLE
REVENUE = revenue_metrics.TABLE
OUTSTANDING = outstanding_payments.TABLE
WINDOW = DateWindow(dt.date(2026, 3, 1), dt.date(2026, 3, 4))
PATIENT = "pt_" + "a" * 32


def snapshot(url: str, table: str) -> list[tuple]:
    return query(url, f"SELECT * FROM {table} ORDER BY 1, 2, 3")


def history_rows(ids, day="2026-03-02", amount="1.00"):
    return pd.DataFrame(
        {
            "patient_id": [PATIENT] * len(ids),
            "payment_date": pd.to_datetime([day] * len(ids)),
            "amount": [D(amount)] * len(ids),
            "payment_status": ["paid"] * len(ids),
            "invoice_id": [f"INV-{i}" for i in ids],
            "source_payment_id": list(ids),
        }
    )


def history_select(rows: list[tuple[int, str]], extra_where: str = "TRUE") -> sql.Composed:
    """A server-side SELECT of (table columns, run id) rows: (source_payment_id, amount)."""
    values = sql.SQL(", ").join(sql.SQL("({}, {}::numeric)").format(sql.Literal(i), sql.Literal(a)) for i, a in rows)
    return sql.SQL(
        "SELECT {patient}, DATE '2026-03-02', v.amount, 'paid', 'INV-' || v.id, v.id, 'r2' FROM (VALUES {values}) AS v(id, amount) WHERE "
    ).format(patient=sql.Literal(PATIENT), values=values) + sql.SQL(extra_where)


@pytest.fixture
def history_before(database_url):
    with transaction(database_url) as conn:
        replace_window(conn, HISTORY, [history_rows([1, 2])], WINDOW, run_id="r1")
    before = snapshot(database_url, HISTORY.qualified)
    assert len(before) == 2
    return before


def test_replace_window_from_select_swaps_the_window(database_url, history_before):
    with transaction(database_url) as conn:
        written = replace_window_from_select(conn, HISTORY, history_select([(3, "2.50")]), WINDOW)
    assert written == 1
    assert query(database_url, "SELECT source_payment_id, amount, dagster_run_id FROM reporting.patient_payment_history") == [(3, D("2.50"), "r2")]


@pytest.mark.parametrize(
    "select",
    [
        pytest.param(lambda: history_select([(3, "2.50"), (4, "0.00")]), id="a-selected-row-breaks-the-amount-check"),
        pytest.param(lambda: history_select([(3, "2.50"), (4, "1.00")], "1 / (v.id - 4) IS NOT NULL"), id="the-select-raises-at-execution"),
    ],
)
def test_replace_window_from_select_failing_after_its_delete_keeps_the_old_rows(database_url, history_before, select):
    with pytest.raises(psycopg2.Error):
        with transaction(database_url) as conn:
            replace_window_from_select(conn, HISTORY, select(), WINDOW)
    assert snapshot(database_url, HISTORY.qualified) == history_before


def test_replace_window_of_a_whole_table_failing_midway_keeps_the_old_rows(database_url):
    def invoices(numbers):
        return pd.DataFrame(
            {
                "source_invoice_id": list(range(1, len(numbers) + 1)),
                "invoice_id": numbers,
                "patient_id": [PATIENT] * len(numbers),
                "issue_date": pd.to_datetime(["2026-01-01"] * len(numbers)),
                "due_date": pd.to_datetime(["2026-02-01"] * len(numbers)),
                "total_cents": [1000] * len(numbers),
                "invoice_status": ["open"] * len(numbers),
                "paid_cents": [0] * len(numbers),
                "last_payment_date": pd.to_datetime([None] * len(numbers)),
            }
        )[list(STAGED_INVOICES.columns)]

    with transaction(database_url) as conn:
        replace_window(conn, STAGED_INVOICES, [invoices(["INV-1", "INV-2"])], None, run_id="r1")
    before = snapshot(database_url, STAGED_INVOICES.qualified)
    assert len(before) == 2

    def chunks():
        yield invoices(["INV-9"])  # the table was emptied and this copied ...
        raise RuntimeError("source went away")  # ... then the run breaks

    with pytest.raises(RuntimeError):
        with transaction(database_url) as conn:
            replace_window(conn, STAGED_INVOICES, chunks(), None, run_id="r2")
    assert snapshot(database_url, STAGED_INVOICES.qualified) == before


# ------------------------------------------------------------------ merges
def revenue(days, total="1.00"):
    return pd.DataFrame(
        {
            "date_key": pd.to_datetime(days),
            "total_revenue": [D(total)] * len(days),
            "payment_count": [1] * len(days),
            "average_payment": [D(total)] * len(days),
        }
    )


def test_merge_rows_of_a_window_failing_after_its_delete_keeps_the_old_rows(database_url):
    with transaction(database_url) as conn:
        merge_rows(conn, REVENUE, revenue(["2026-03-01", "2026-03-02", "2026-03-03"]), run_id="r1", window=WINDOW)
    before = snapshot(database_url, REVENUE.qualified)
    assert len(before) == 3
    # the incoming rows lack 03-02 and 03-03 (the DELETE removes them) and break total_revenue >= 0 (the upsert fails)
    with pytest.raises(psycopg2.Error) as failure:
        with transaction(database_url) as conn:
            merge_rows(conn, REVENUE, revenue(["2026-03-01"], total="-1.00"), run_id="r2", window=WINDOW)
    assert snapshot(database_url, REVENUE.qualified) == before
    assert isinstance(failure.value, psycopg2.errors.CheckViolation)


def outstanding(invoice_ids, amount_due="10.00"):
    return pd.DataFrame(
        {
            "patient_id": [PATIENT] * len(invoice_ids),
            "invoice_id": invoice_ids,
            "amount_due": [D(amount_due)] * len(invoice_ids),
            "days_overdue": [10] * len(invoice_ids),
            "last_payment_date": pd.to_datetime([None] * len(invoice_ids)),
            "payment_status": ["overdue"] * len(invoice_ids),
        }
    )


def test_merge_rows_of_a_whole_table_failing_after_its_delete_keeps_the_old_rows(database_url):
    with transaction(database_url) as conn:
        merge_rows(conn, OUTSTANDING, outstanding(["INV-1", "INV-2"]), run_id="r1")
    before = snapshot(database_url, OUTSTANDING.qualified)
    assert len(before) == 2

    def chunks():
        yield outstanding(["INV-3"])
        yield outstanding(["INV-4"], amount_due="-5.00")  # breaks amount_due > 0 only when upserted

    # the DELETE removes INV-1 and INV-2 (not incoming), then the upsert fails
    with pytest.raises(psycopg2.Error) as failure:
        with transaction(database_url) as conn:
            merge_rows(conn, OUTSTANDING, chunks(), run_id="r2")
    assert snapshot(database_url, OUTSTANDING.qualified) == before
    assert isinstance(failure.value, psycopg2.errors.CheckViolation)
