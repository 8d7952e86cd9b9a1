"""From the billing source through the Dagster assets to the API: what the pipeline wrote is what the API reports."""

from __future__ import annotations

from decimal import Decimal

from reporting_assets_tests.conftest import fake_patient, make_resources, materialize_current, materialize_days, pseudonym, write_source

PATIENTS = [fake_patient(pid) for pid in (1, 2, 3)]
INVOICES = [
    (10, "INV-2026-000010", 1, "2026-01-05", "2026-02-04", "300.00", "open"),  # 44 days overdue on 2026-03-20
    (11, "INV-2026-000011", 2, "2026-03-01", "2026-03-15", "80.00", "open"),  # 5 days overdue
    (12, "INV-2026-000012", 3, "2026-01-01", "2026-01-10", "50.00", "paid"),
]
PAYMENTS = [
    (100, 10, 1, "2026-03-02", "100.00", "paid", "card"),
    (101, 10, 1, "2026-03-02", "10.005", "paid", "card"),  # half-up once: 10.01
    (102, 11, 2, "2026-03-03", "20.00", "pending", "card"),  # not revenue
    (103, 12, 3, "2026-03-09", "50.00", "paid", "cash"),  # the next ISO week
    (104, 11, 2, "2026-03-04", "abc", "paid", "card"),  # quarantined
]


def test_the_api_reports_what_the_assets_wrote(api, database_url, tmp_path):
    source = write_source(tmp_path / "billing.db", PATIENTS, INVOICES, PAYMENTS)
    resources = make_resources(database_url, source, tmp_path / "home")
    materialize_days(resources, "2026-03-01", "2026-03-10")
    materialize_current(resources)
    client = api.user("boss", "admin")

    weeks = client.get("/api/v1/revenue", params={"start": "2026-03-02", "end": "2026-03-15", "granularity": "week"}).json()
    assert [(p["period_start"], p["total_revenue"], p["payment_count"], p["average_payment"]) for p in weeks["periods"]] == [
        ("2026-03-02", "110.01", 2, "55.01"),  # 110.01 / 2 = 55.005, half-up
        ("2026-03-09", "50.00", 1, "50.00"),  # days after 2026-03-10 were never materialized: still a whole week
    ]
    assert weeks["totals"] == {"total_revenue": "160.01", "payment_count": 3, "average_payment": "53.34"}

    history = client.get("/api/v1/payments", params={"patient_id": pseudonym(1)}).json()["items"]
    assert sorted((p["payment_date"], p["amount"], p["invoice_id"], p["payment_status"]) for p in history) == [
        ("2026-03-02", "10.01", "INV-2026-000010", "paid"),
        ("2026-03-02", "100.00", "INV-2026-000010", "paid"),
    ]

    invoices = client.get("/api/v1/outstanding").json()["items"]
    assert [(i["invoice_id"], i["patient_id"], i["amount_due"]) for i in invoices][0] == ("INV-2026-000010", pseudonym(1), "189.99")
    aging = client.get("/api/v1/outstanding/aging").json()
    assert aging["totals"]["amount_due"] == f"{sum(Decimal(i['amount_due']) for i in invoices):.2f}"
    assert aging["as_of"] is not None

    health = client.get("/api/v1/data-health").json()
    assert all(table["last_refreshed_at"] for table in health["tables"])
    assert any(q["source_table"] == "payments" and q["rows"] >= 1 for q in health["quarantine"])
    body = client.get("/api/v1/audit", params={"action": "materialize"}).text
    for patient in PATIENTS:  # no patient identifier in anything the API returns
        assert patient[1] not in body and patient[4] not in body
