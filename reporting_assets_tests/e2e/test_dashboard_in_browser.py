"""The built dashboard in headless Chromium against the live API on a warehouse the assets filled.

What a person sees is checked against the API and against SQL computed here over the
reporting tables and views: the revenue tiles, the aging chart, a CSV export, each role's
pages, the "not permitted" page, the return to sign-in with an expired token, the audit
rows each view and export left, and axe-core's serious and critical violations per page.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from reporting_assets.warehouse.database import fetch_all

from .browser import axe_run, expired_token, nav_labels, settled, sign_in, wait_for, wait_for_download
from .conftest import PASSWORD, SECRET, USERS

pytestmark = pytest.mark.slow

PAGES = {
    "finance": ["Revenue", "Receivables", "Data health"],
    "billing": ["Revenue", "Receivables", "Patient", "Data health"],
    "auditor": ["Data health", "Audit"],
    "admin": ["Revenue", "Receivables", "Patient", "Data health", "Audit"],
}
ADDRESS = {"Revenue": "/revenue", "Receivables": "/receivables", "Patient": "/patient", "Data health": "/data-health", "Audit": "/audit"}
NAME = {role: name for name, role in USERS.items()}


def money(value: Decimal | str) -> str:
    """The dashboard's display of a decimal string: thousands separators, two places."""
    return f"{Decimal(value):,.2f}"


def css(driver, selector: str):
    return driver.find_elements("css selector", selector)


def open_page(driver, base_url: str, path: str) -> None:
    driver.get(base_url + path)
    wait_for(lambda: css(driver, "main h1") and settled(driver), what=path)


def h1(driver) -> str:
    return css(driver, "main h1")[0].text


def audit_rows(database_url: str, user: str, after: int) -> list[tuple[str, str, str]]:
    return [
        tuple(row)
        for row in fetch_all(
            database_url,
            "SELECT action, resource_type, coalesce(resource_id, '') FROM reporting.audit_log WHERE user_id = %s AND id > %s ORDER BY id",
            (f"api:{user}", after),
        )
    ]


@pytest.mark.parametrize("role", ["finance", "billing", "auditor", "admin"])
def test_each_role_sees_exactly_its_pages(browser, live, role):
    sign_in(browser, live.base_url, NAME[role], PASSWORD)
    assert nav_labels(browser) == PAGES[role]
    for label in PAGES[role]:
        link = [a for a in css(browser, "nav[aria-label=Reports] a") if a.text == label][0]
        link.click()
        wait_for(lambda: urlparse(browser.current_url).path == ADDRESS[label] and settled(browser) and css(browser, "main h1"), what=label)
        assert "not permitted" not in browser.find_element("css selector", "main").text
        assert css(browser, 'nav a[aria-current="page"]')[0].text == label
        assert not css(browser, "main [role=alert]"), css(browser, "main [role=alert]")[0].text
    for label in set(ADDRESS) - set(PAGES[role]):
        open_page(browser, live.base_url, ADDRESS[label])
        assert "not permitted for your role" in browser.find_element("css selector", "main").text
    if "Receivables" in PAGES[role]:
        open_page(browser, live.base_url, "/receivables")
        headings = [h.text for h in css(browser, "main h2")]
        assert "Accounts receivable aging" in headings
        # finance reads the aging summary only; the per-invoice list is billing's and admin's
        assert ("Overdue invoices" in headings) == (role in ("billing", "admin"))


def test_revenue_tiles_equal_the_api_and_the_sql(browser, live, warehouse):
    start, end = warehouse.first_day + dt.timedelta(days=10), warehouse.last_day - dt.timedelta(days=5)
    sign_in(browser, live.base_url, "fiona", PASSWORD, f"/revenue?start={start}&end={end}&granularity=day")
    wait_for(lambda: css(browser, '[data-testid="kpi-total-revenue"]') and settled(browser), what="the revenue tiles")
    assert urlparse(browser.current_url).path == "/revenue"
    tiles = {key: css(browser, f'[data-testid="kpi-{key}"]')[0].text for key in ("total-revenue", "payment-count", "average-payment")}

    body = live.client(live.sign_in("fiona")).get("/api/v1/revenue", params={"start": str(start), "end": str(end), "granularity": "day"}).json()
    total, count = fetch_all(
        warehouse.database_url,
        "SELECT coalesce(sum(total_revenue), 0), coalesce(sum(payment_count), 0) FROM reporting.revenue_metrics WHERE date_key BETWEEN %s AND %s",
        (start, end),
    )[0]
    assert count > 0, "the generated source has payments in the range"
    average = (Decimal(total) / count).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert body["totals"] == {"total_revenue": f"{total:.2f}", "payment_count": count, "average_payment": f"{average:.2f}"}
    assert money(body["totals"]["total_revenue"]) in tiles["total-revenue"]
    assert f"{count:,}" in tiles["payment-count"]
    assert money(body["totals"]["average_payment"]) in tiles["average-payment"]
    assert money(total) in tiles["total-revenue"] and money(average) in tiles["average-payment"]

    # the chart draws one bar per day with revenue, and the 7-day average as a line
    days_with_revenue = sum(1 for period in body["periods"] if Decimal(period["total_revenue"]) > 0)
    chart = css(browser, '[data-testid="revenue-chart"]')[0]
    bars = wait_for(lambda: chart.find_elements("css selector", ".recharts-bar-rectangle path"), what="the revenue bars")
    assert len(bars) == days_with_revenue
    assert chart.find_elements("css selector", ".recharts-line path")


def test_aging_chart_shows_the_ar_aging_view(browser, live, warehouse):
    sign_in(browser, live.base_url, "fiona", PASSWORD, "/receivables")
    chart = wait_for(lambda: css(browser, '[data-testid="aging-chart"]'), what="the aging chart")[0]
    wait_for(lambda: settled(browser), what="the aging summary")
    view = fetch_all(
        warehouse.database_url,
        "SELECT bucket, sum(invoice_count)::int, sum(amount_due) FROM reporting.ar_aging GROUP BY bucket, bucket_order ORDER BY bucket_order",
    )
    assert sum(row[1] for row in view) > 0, "the warehouse has overdue invoices"
    buckets = {bucket: (count, amount) for bucket, count, amount in view}
    expected = [(b, *buckets.get(b, (0, Decimal("0")))) for b in ("0-30", "31-60", "61-90", "91-120", "120+")]

    # the chart's text alternative names every bucket with its amount and invoice count
    summary = chart.find_element("css selector", "[role=img]").get_attribute("aria-label")
    for bucket, count, amount in expected:
        assert f"{bucket} days {money(amount)} ({count:,} invoices)" in summary
    # its table under the chart shows the same figures
    table = chart.find_element("xpath", "following::table[1]")
    rows = [[cell.get_attribute("textContent").strip() for cell in tr.find_elements("css selector", "th, td")] for tr in table.find_elements("css selector", "tbody tr")]
    assert rows == [[bucket, f"{count:,}", money(amount)] for bucket, count, amount in expected]
    # and one drawn bar per bucket with an amount (Recharts draws no rectangle for 0)
    bars = chart.find_elements("css selector", ".recharts-bar-rectangle path, .recharts-bar-rectangle rect")
    assert len(bars) == sum(1 for _, _, amount in expected if amount > 0)
    # Recharts 3 draws the tick labels of both axes in one layer: the x axis's are the bucket names
    labels = [t.get_attribute("textContent") for t in chart.find_elements("css selector", ".recharts-cartesian-axis-tick-value")]
    names = [bucket for bucket, _, _ in expected]
    assert [label for label in labels if label in names] == names


def test_csv_export_downloads_the_rows_of_the_json(browser, live, warehouse, tmp_path):
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    start, end = warehouse.first_day, warehouse.last_day
    sign_in(browser, live.base_url, "bill", PASSWORD, f"/revenue?start={start}&end={end}&granularity=week")
    button = wait_for(lambda: browser.find_element("css selector", 'button[aria-label="Download CSV of revenue"]'), what="the CSV button")
    wait_for(lambda: settled(browser), what="the revenue page")
    button.click()
    saved = wait_for_download(tmp_path)
    assert re.fullmatch(r"revenue_.+\.csv", saved.name), saved.name
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))

    body = live.client(live.sign_in("bill")).get("/api/v1/revenue", params={"start": str(start), "end": str(end), "granularity": "week"}).json()
    assert len(body["periods"]) >= 9
    assert rows == [{key: str(value) for key, value in period.items()} for period in body["periods"]]


def test_a_page_outside_the_role_is_not_permitted(browser, live):
    sign_in(browser, live.base_url, "fiona", PASSWORD)
    open_page(browser, live.base_url, "/patient")
    main = browser.find_element("css selector", "main").text
    assert "not permitted" in main and "(finance)" in main
    assert "Patient" not in nav_labels(browser)
    assert not css(browser, "input[name=patient_id]")


def test_an_expired_token_returns_to_sign_in_and_back_to_the_page(browser, live, warehouse):
    sign_in(browser, live.base_url, "fiona", PASSWORD)
    browser.execute_script("sessionStorage.setItem('reporting.token', arguments[0])", expired_token(SECRET, "fiona"))
    start, end = warehouse.first_day, warehouse.last_day
    page = f"/revenue?start={start}&end={end}&granularity=month"
    browser.get(live.base_url + page)
    wait_for(lambda: urlparse(browser.current_url).path == "/sign-in", what="the return to sign-in")
    assert unquote(parse_qs(urlparse(browser.current_url).query)["next"][0]) == page
    assert browser.execute_script("return sessionStorage.getItem('reporting.token')") is None
    browser.find_element("css selector", "input[name=username]").send_keys("fiona")
    browser.find_element("css selector", "input[name=password]").send_keys(PASSWORD)
    browser.find_element("css selector", "form button[type=submit]").click()
    wait_for(lambda: urlparse(browser.current_url).path == "/revenue", what="the page again")
    assert parse_qs(urlparse(browser.current_url).query) == {"start": [str(start)], "end": [str(end)], "granularity": ["month"]}
    wait_for(lambda: css(browser, '[data-testid="kpi-total-revenue"]'), what="the tiles")


def test_every_view_and_export_leaves_its_audit_row(browser, live, warehouse, tmp_path):
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    after = live.last_audit_id()
    sign_in(browser, live.base_url, "bill", PASSWORD, "/receivables")
    wait_for(lambda: css(browser, '[data-testid="aging-chart"]') and settled(browser), what="receivables")
    css(browser, 'button[aria-label="Download CSV of overdue invoices"]')[0].click()
    wait_for_download(tmp_path)
    pseudonym = fetch_all(warehouse.database_url, "SELECT patient_id FROM reporting.patient_payment_history ORDER BY id LIMIT 1")[0][0]
    open_page(browser, live.base_url, f"/patient?patient_id={pseudonym}")
    wait_for(lambda: css(browser, '[data-testid="payment-timeline"]') and settled(browser), what="the patient's payments")
    open_page(browser, live.base_url, "/data-health")
    wait_for(lambda: css(browser, '[data-testid="kpi-failed-runs"]') and settled(browser), what="data health")
    css(browser, 'button[aria-label="Download CSV of data health"]')[0].click()
    wait_for(lambda: len([p for p in tmp_path.iterdir() if p.suffix == ".csv"]) == 2, what="the second download")
    start, end = warehouse.last_day - dt.timedelta(days=13), warehouse.last_day
    open_page(browser, live.base_url, f"/revenue?start={start}&end={end}&granularity=day")
    wait_for(lambda: css(browser, '[data-testid="kpi-total-revenue"]') and settled(browser), what="revenue")
    rows = audit_rows(warehouse.database_url, "bill", after)
    pairs = {(action, resource) for action, resource, _ in rows}
    assert {
        ("login", "api_user"),
        ("view_report", "ar_aging"),
        ("view_report", "outstanding_payments"),
        ("export_data", "outstanding_payments"),
        ("view_report", "patient_payment_history"),
        ("view_report", "table_freshness"),
        ("view_report", "etl_process_status"),
        ("export_data", "table_freshness"),
        ("view_report", "revenue_metrics"),
    } <= pairs, rows
    # the range on screen, then the previous period of equal length for the change tile: two reads, two rows
    revenue = [r[2] for r in rows if r[:2] == ("view_report", "revenue_metrics")]
    previous = f"{start - dt.timedelta(days=14)}..{start - dt.timedelta(days=1)}/day"
    assert revenue == [f"{start}..{end}/day", previous], revenue
    assert any(r[1] == "patient_payment_history" and r[2].startswith(pseudonym[:12]) for r in rows), rows
    assert all(pseudonym not in r[2] for r in rows), "the audit row keeps only the pseudonym's first 12 characters"

    after = live.last_audit_id()
    sign_in(browser, live.base_url, "audrey", PASSWORD, "/audit")
    wait_for(lambda: css(browser, "main table") and settled(browser), what="the audit log")
    assert ("view_report", "audit_log") in {(a, r) for a, r, _ in audit_rows(warehouse.database_url, "audrey", after)}


AXE_PAGES = [
    ("sign-in", None, "/sign-in"),
    ("Revenue", "ada", "/revenue"),
    ("Receivables", "ada", "/receivables"),
    ("Patient", "ada", "/patient?patient_id={pseudonym}"),
    ("Data health", "ada", "/data-health"),
    ("Audit", "ada", "/audit"),
    ("not permitted", "fiona", "/audit"),
]


@pytest.mark.parametrize(("page", "user", "path"), AXE_PAGES, ids=[p[0] for p in AXE_PAGES])
def test_axe_finds_no_serious_or_critical_violation(browser, live, warehouse, page, user, path):
    if "{pseudonym}" in path:
        pseudonym = fetch_all(warehouse.database_url, "SELECT patient_id FROM reporting.patient_payment_history ORDER BY id LIMIT 1")[0][0]
        path = path.format(pseudonym=pseudonym)
    if user:
        sign_in(browser, live.base_url, user, PASSWORD)
    open_page(browser, live.base_url, path)
    if page not in ("sign-in", "not permitted"):
        wait_for(lambda: css(browser, "main section.card") and settled(browser), what=page)
    result = axe_run(browser)
    assert result["passes"] > 10, result
    print(f"axe on {page}: {result['passes']} rules passed; violations: {result['violations']}")
    violations = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert violations == [], violations
