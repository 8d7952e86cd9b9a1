"""The API's business figures equal SQL written independently here, zero periods included; aging buckets at their edges."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import ROUND_HALF_UP, Decimal

from reporting_assets.warehouse.database import fetch_all, transaction

from reporting_assets_tests.conftest import TODAY


def fill_revenue(url: str, first: dt.date, last: dt.date, seed: int = 3) -> None:
    """Daily rows with gaps (days never materialized) and zero days, as the assets write them."""
    rng = random.Random(seed)
    rows = []
    day = first
    while day <= last:
        if rng.random() > 0.15:  # some days have no row at all
            count = rng.choice([0, 0, 1, 2, 3, 7])
            cents = [rng.randint(1, 99_999) for _ in range(count)]
            total = Decimal(sum(cents)) / 100
            average = (total / count).quantize(Decimal("0.01"), ROUND_HALF_UP) if count else Decimal("0.00")
            rows.append((day, total, count, average))
        day += dt.timedelta(days=1)
    with transaction(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment) VALUES (%s, %s, %s, %s)", rows
        )


def expected_periods(url: str, start: str, end: str, granularity: str) -> list[dict]:
    """Independent SQL: period keys computed by arithmetic on day numbers, not date_trunc or the views."""
    key = {
        "day": "d",
        # ISO week start: the Monday on or before d (isodow 1 = Monday)
        "week": "d - (extract(isodow FROM d)::int - 1)",
        "month": "make_date(extract(year FROM d)::int, extract(month FROM d)::int, 1)",
    }[granularity]
    rows = fetch_all(
        url,
        f"""
        WITH days AS (SELECT generate_series(%(start)s::date, %(end)s::date, interval '1 day')::date AS d),
        keyed AS (SELECT {key} AS period_start, d FROM days)
        SELECT k.period_start, max(k.d), coalesce(sum(m.total_revenue), 0), coalesce(sum(m.payment_count), 0)
        FROM keyed k LEFT JOIN reporting.revenue_metrics m ON m.date_key = k.d
        GROUP BY k.period_start ORDER BY k.period_start
        """,
        {"start": start, "end": end},
    )
    out = []
    for period_start, period_end, total, count in rows:
        average = (Decimal(total) / count).quantize(Decimal("0.01"), ROUND_HALF_UP) if count else Decimal("0.00")
        out.append({
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
            "total_revenue": f"{Decimal(total):.2f}",
            "payment_count": int(count),
            "average_payment": f"{average:.2f}",
        })
    return out


def test_revenue_per_day_week_and_month_equals_independent_sql(api, database_url):
    fill_revenue(database_url, dt.date(2025, 11, 1), TODAY)
    client = api.user("fin", "finance")
    cases = [
        ("day", "2026-01-01", "2026-03-20", "2026-01-01", "2026-03-20"),
        ("week", "2026-01-01", "2026-03-20", "2025-12-29", "2026-03-22"),  # widened to whole ISO weeks
        ("month", "2025-11-15", "2026-03-20", "2025-11-01", "2026-03-31"),  # widened to whole months
        ("day", "2025-10-01", "2025-10-10", "2025-10-01", "2025-10-10"),  # no data at all: zero periods
    ]
    for granularity, start, end, widened_start, widened_end in cases:
        body = client.get("/api/v1/revenue", params={"start": start, "end": end, "granularity": granularity}).json()
        assert (body["start"], body["end"], body["granularity"]) == (widened_start, widened_end, granularity)
        expected = expected_periods(database_url, widened_start, widened_end, granularity)
        assert body["periods"] == expected
        total = sum(Decimal(p["total_revenue"]) for p in expected)
        count = sum(p["payment_count"] for p in expected)
        average = (total / count).quantize(Decimal("0.01"), ROUND_HALF_UP) if count else Decimal("0.00")
        assert body["totals"] == {"total_revenue": f"{total:.2f}", "payment_count": count, "average_payment": f"{average:.2f}"}
        exported = client.get("/api/v1/revenue.csv", params={"start": start, "end": end, "granularity": granularity})
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert rows == [{k: str(v) for k, v in p.items()} for p in expected]
        assert exported.headers["content-disposition"] == f'attachment; filename="revenue_{widened_start}_{widened_end}.csv"'


def test_revenue_views_match_for_bi_tools(database_url):
    fill_revenue(database_url, dt.date(2026, 1, 1), TODAY)
    monthly = fetch_all(database_url, "SELECT period_start, period_end, total_revenue, payment_count, average_payment FROM reporting.revenue_monthly ORDER BY 1")
    expected = expected_periods(database_url, "2026-01-01", "2026-03-31", "month")
    assert [(a.isoformat(), b.isoformat(), f"{t:.2f}", c, f"{v:.2f}") for a, b, t, c, v in monthly] == [tuple(p.values()) for p in expected]


def test_revenue_defaults_and_range_limits(api, database_url):
    client = api.user("fin", "finance")
    body = client.get("/api/v1/revenue").json()
    assert len(body["periods"]) == 30 and body["granularity"] == "day"
    assert client.get("/api/v1/revenue", params={"start": "2023-01-01", "end": "2025-12-31"}).status_code == 200
    too_long = client.get("/api/v1/revenue", params={"start": "2022-12-31", "end": "2025-12-31"})
    assert too_long.status_code == 422 and too_long.json()["parameter"] == "start"
    reversed_range = client.get("/api/v1/revenue", params={"start": "2026-03-02", "end": "2026-03-01"})
    assert reversed_range.status_code == 422 and reversed_range.json()["parameter"] == "start"


def fill_outstanding(url: str, invoices: list[tuple[int, str, str]]) -> None:
    """(days_overdue, amount_due, payment_status) per invoice."""
    with transaction(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO reporting.outstanding_payments (patient_id, invoice_id, amount_due, days_overdue, payment_status) VALUES (%s, %s, %s, %s, %s)",
            [(f"pt_{i:032x}", f"INV-2026-{i:06d}", amount, days, status) for i, (days, amount, status) in enumerate(invoices, start=1)],
        )


EDGES = [
    (0, "1.00", "overdue"), (30, "2.00", "overdue"),
    (31, "4.00", "overdue"), (60, "8.00", "overdue"),
    (61, "16.00", "overdue"), (90, "32.00", "overdue"),
    (91, "64.00", "overdue"), (120, "128.00", "collection"),
    (121, "256.00", "collection"), (400, "512.05", "written_off"),
]


def test_aging_buckets_at_their_edges(api, database_url):
    fill_outstanding(database_url, EDGES)
    client = api.user("fin", "finance")
    body = client.get("/api/v1/outstanding/aging").json()
    assert body["buckets"] == [
        {"bucket": "0-30", "invoice_count": 2, "amount_due": "3.00"},
        {"bucket": "31-60", "invoice_count": 2, "amount_due": "12.00"},
        {"bucket": "61-90", "invoice_count": 2, "amount_due": "48.00"},
        {"bucket": "91-120", "invoice_count": 2, "amount_due": "192.00"},
        {"bucket": "120+", "invoice_count": 2, "amount_due": "768.05"},
    ]
    assert body["by_status"] == [
        {"payment_status": "overdue", "invoice_count": 7, "amount_due": "127.00"},
        {"payment_status": "collection", "invoice_count": 2, "amount_due": "384.00"},
        {"payment_status": "written_off", "invoice_count": 1, "amount_due": "512.05"},
    ]
    assert body["totals"] == {"invoice_count": 10, "amount_due": "1023.05"}
    exported = client.get("/api/v1/outstanding/aging.csv").text.splitlines()
    assert exported == ["bucket,invoice_count,amount_due", "0-30,2,3.00", "31-60,2,12.00", "61-90,2,48.00", "91-120,2,192.00", "120+,2,768.05"]


def test_aging_is_all_zeros_when_nothing_is_outstanding(api):
    body = api.user("fin", "finance").get("/api/v1/outstanding/aging").json()
    assert body["as_of"] is None
    assert [b["invoice_count"] for b in body["buckets"]] == [0] * 5 and [s["amount_due"] for s in body["by_status"]] == ["0.00"] * 3


def test_outstanding_pages_walk_every_invoice_once_most_overdue_first(api, database_url):
    fill_outstanding(database_url, EDGES + [(61, "3.00", "overdue"), (61, "5.00", "overdue")])
    client = api.user("bil", "billing")
    seen, cursor = [], None
    while True:
        body = client.get("/api/v1/outstanding", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [(i["days_overdue"], i["invoice_id"]) for i in seen] == sorted(((d, f"INV-2026-{i:06d}") for i, (d, _, _) in enumerate(EDGES + [(61, "", ""), (61, "", "")], start=1)), key=lambda k: (-k[0], k[1]))
    collection = client.get("/api/v1/outstanding", params={"status": "collection", "min_days_overdue": 121}).json()["items"]
    assert [(i["days_overdue"], i["amount_due"]) for i in collection] == [(121, "256.00")]
    assert len(client.get("/api/v1/outstanding.csv").text.splitlines()) == 1 + len(EDGES) + 2
