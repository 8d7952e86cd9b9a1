"""PNG screenshots of every dashboard page for docs/dashboard.md, from a filled sample warehouse.

    .venv/bin/python -m bench.screenshots [--database-url URL] [--out docs/screenshots]

Builds nothing: run `npm --prefix dashboard ci && npm --prefix dashboard run build` first.
A database is made on the server (--database-url, else REPORTING_TEST_DATABASE_URL, else an
embedded PostgreSQL), migrated and filled by the Dagster assets over the browser tests'
generated source (reporting_assets_tests/e2e/warehouse.py: fake patients, pseudonyms only),
then served by the API tests' uvicorn server on a loopback port, and dropped afterwards.
Headless Debian Chromium (/usr/bin/chromium) takes each page at 1280 px wide (whole page
height) and Revenue and Receivables at 390 px (a phone).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from reporting_assets.api import create_app
from reporting_assets.settings import normalize_database_url
from reporting_assets.warehouse.database import fetch_all
from reporting_assets.warehouse.migrations import apply_migrations
from reporting_assets_tests.api.conftest import PASSWORD, Api, LiveServer, api_settings
from reporting_assets_tests.conftest import _temporary_database
from reporting_assets_tests.e2e.browser import STATIC_INDEX, settled, sign_in, start_chrome, wait_for
from reporting_assets_tests.e2e.warehouse import fill_warehouse

ROOT = Path(__file__).resolve().parents[1]


def shoot(driver, base_url: str, path: str, out: Path, width: int, ready: str = "main h1") -> None:
    """The whole page at ``width`` CSS pixels (a phone's metrics below 500 px), as one PNG."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500}
    )
    driver.get(base_url + path)
    wait_for(lambda: driver.find_elements("css selector", ready) and settled(driver), what=path)
    time.sleep(0.8)  # charts measure their container once after the first paint
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    height = min(int(size["height"]), 4000)
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}},
    )
    out.write_bytes(base64.b64decode(shot["data"]))
    print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {width}x{height} px, {path}")


def take(server_url: str, out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="reporting-screenshots-"))
    with _temporary_database(server_url, "reporting_screenshots") as database_url:
        apply_migrations(database_url)
        warehouse = fill_warehouse(database_url, work)
        server = LiveServer(create_app(api_settings(database_url, work / "home"))).__enter__()
        api = Api(server.base_url, database_url, None)
        for name, role in {"ada": "admin", "fiona": "finance"}.items():
            api.add_user(name, role)
        driver = start_chrome(work / "profile", work / "downloads")
        try:
            base = server.base_url
            pseudonym = fetch_all(
                database_url,
                "SELECT patient_id FROM reporting.patient_payment_history GROUP BY patient_id ORDER BY count(*) DESC, patient_id LIMIT 1",
            )[0][0]
            # the last 60 days: the 60 before them have payments too, so the change tile has a figure
            revenue = f"/revenue?start={warehouse.last_day - dt.timedelta(days=59)}&end={warehouse.last_day}&granularity=day"
            out.mkdir(parents=True, exist_ok=True)
            driver.get(base + "/sign-in")
            shoot(driver, base, "/sign-in", out / "sign-in.png", 1280, ready="input[name=username]")
            sign_in(driver, base, "ada", PASSWORD)
            pages = [
                ("revenue", revenue, '[data-testid="revenue-chart"] .recharts-bar-rectangle'),
                ("receivables", "/receivables", '[data-testid="aging-chart"] .recharts-bar-rectangle'),
                ("patient", f"/patient?patient_id={pseudonym}", '[data-testid="payment-timeline"] .recharts-bar-rectangle'),
                ("data-health", "/data-health", '[data-testid="kpi-failed-runs"]'),
                ("audit", "/audit", "main table"),
            ]
            for name, path, ready in pages:
                shoot(driver, base, path, out / f"{name}.png", 1280, ready)
            shoot(driver, base, revenue, out / "revenue-phone.png", 390, '[data-testid="revenue-chart"] .recharts-bar-rectangle')
            shoot(driver, base, "/receivables", out / "receivables-phone.png", 390, '[data-testid="aging-chart"] .recharts-bar-rectangle')
            sign_in(driver, base, "fiona", PASSWORD)
            shoot(driver, base, "/audit", out / "not-permitted.png", 1280)
        finally:
            driver.quit()
            server.__exit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("REPORTING_TEST_DATABASE_URL", ""))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if not STATIC_INDEX.is_file():
        raise SystemExit("Build the dashboard first: npm --prefix dashboard ci && npm --prefix dashboard run build")
    if args.database_url:
        take(normalize_database_url(args.database_url), args.out.resolve())
        return
    import pgserver

    pgdata = Path(tempfile.mkdtemp(prefix="reporting-screenshots-pg-"))
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    try:
        take(normalize_database_url(server.get_uri()), args.out.resolve())
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
