"""reporting.ar_aging reads running totals (sql/007_aging_totals.sql) that must always equal the
aggregate of outstanding_payments, whatever writes it: the asset's merge, updates, retention's
batched deletes, TRUNCATE, the writer role, and a warehouse filled before the totals existed."""

import collections
import datetime as dt
import random
from decimal import Decimal as D

import pandas as pd
import pytest

from reporting_assets.defs.reporting.outstanding_payments import TABLE
from reporting_assets.warehouse.database import transaction
from reporting_assets.warehouse.migrations import apply_migrations
from reporting_assets.warehouse.retention import RetentionRule, delete_older_than
from reporting_assets.warehouse.writer import merge_rows
from reporting_assets_tests.conftest import migrate_up_to, query
from reporting_assets_tests.test_access_control import as_user, login_users  # noqa: F401 (fixture)

STATUSES = ("overdue", "collection", "written_off")


def bucket(days: int) -> str:
    """SPEC's A/R aging buckets, written out independently of the SQL."""
    for upper, name in ((30, "0-30"), (60, "31-60"), (90, "61-90"), (120, "91-120")):
        if days <= upper:
            return name
    return "120+"


def expected_aging(url: str) -> dict[tuple[str, str], tuple[int, D]]:
    totals: dict[tuple[str, str], list] = collections.defaultdict(lambda: [0, D("0.00")])
    for days, status, amount in query(url, "SELECT days_overdue, payment_status, amount_due FROM reporting.outstanding_payments"):
        group = totals[(bucket(days), status)]
        group[0] += 1
        group[1] += amount
    return {key: (count, amount) for key, (count, amount) in totals.items()}


def aging(url: str) -> dict[tuple[str, str], tuple[int, D]]:
    rows = query(url, "SELECT bucket, payment_status, invoice_count, amount_due, bucket_order FROM reporting.ar_aging")
    orders = {bucket: order for bucket, _, _, _, order in rows}
    assert all(orders[name] == ["0-30", "31-60", "61-90", "91-120", "120+"].index(name) + 1 for name in orders)
    return {(b, s): (n, a) for b, s, n, a, _ in rows}


def invoices(rng: random.Random, ids: range) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [f"pt_{i % 7:032x}" for i in ids],
            "invoice_id": [f"INV-{i:06d}" for i in ids],
            "amount_due": [D(rng.randint(1, 500_000)) / 100 for _ in ids],
            "days_overdue": [rng.choice([1, 30, 31, 60, 61, 90, 91, 120, 121, 400]) for _ in ids],
            "last_payment_date": pd.to_datetime([None] * len(ids)),
            "payment_status": [rng.choice(STATUSES) for _ in ids],
        }
    )


def merge(url: str, frame: pd.DataFrame) -> None:
    with transaction(url) as conn:
        merge_rows(conn, TABLE, [frame], run_id="test-aging")


def test_totals_follow_every_kind_of_write(database_url):
    rng = random.Random(11)
    assert aging(database_url) == {}
    merge(database_url, invoices(rng, range(0, 400)))  # inserts
    assert aging(database_url) == expected_aging(database_url) and sum(n for n, _ in aging(database_url).values()) == 400
    # the next refresh: some invoices stay with new figures, some are paid (deleted), some are new
    merge(database_url, invoices(rng, range(250, 700)))
    assert sum(n for n, _ in aging(database_url).values()) == 450
    assert aging(database_url) == expected_aging(database_url)
    query(database_url, "UPDATE reporting.outstanding_payments SET days_overdue = days_overdue + 30, amount_due = amount_due + 0.01 WHERE id % 3 = 0")
    assert aging(database_url) == expected_aging(database_url)
    # retention deletes stale rows in small batches, each its own transaction
    query(database_url, "UPDATE reporting.outstanding_payments SET updated_at = '2020-01-01' WHERE id % 4 = 0")
    removed = delete_older_than(database_url, RetentionRule("reporting.outstanding_payments", "updated_at", "report"), dt.date(2021, 1, 1), batch_rows=17)
    assert removed > 17
    assert aging(database_url) == expected_aging(database_url)
    # an empty refresh removes every group
    merge(database_url, invoices(rng, range(0)))
    assert aging(database_url) == {} == expected_aging(database_url)
    assert query(database_url, "SELECT count(*) FROM reporting.outstanding_aging")[0][0] == 0
    merge(database_url, invoices(rng, range(5)))
    query(database_url, "TRUNCATE reporting.outstanding_payments")
    assert aging(database_url) == {}


def test_a_rolled_back_write_leaves_the_totals(database_url):
    rng = random.Random(3)
    merge(database_url, invoices(rng, range(50)))
    before = aging(database_url)
    with pytest.raises(RuntimeError), transaction(database_url) as conn:
        merge_rows(conn, TABLE, [invoices(rng, range(20, 90))], run_id="test-aging")
        raise RuntimeError("the run broke after its write")
    assert aging(database_url) == before == expected_aging(database_url)


def test_the_writer_role_keeps_the_totals(database_url, login_users):  # noqa: F811 (fixture)
    writer_url = as_user(database_url, login_users("writer"))
    merge(writer_url, invoices(random.Random(5), range(30)))
    query(writer_url, "DELETE FROM reporting.outstanding_payments WHERE days_overdue > 100")
    assert aging(database_url) == expected_aging(database_url) != {}


def test_a_warehouse_filled_before_the_totals_gets_them_when_migrated(empty_database_url, tmp_path):
    migrate_up_to(empty_database_url, 6, tmp_path / "sql")
    merge(empty_database_url, invoices(random.Random(8), range(120)))
    assert query(empty_database_url, "SELECT to_regclass('reporting.outstanding_aging')")[0][0] is None
    assert "007_aging_totals.sql" in apply_migrations(empty_database_url)
    assert aging(empty_database_url) == expected_aging(empty_database_url)
    assert sum(n for n, _ in aging(empty_database_url).values()) == 120
