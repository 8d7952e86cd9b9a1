"""One filled warehouse, one live API and one headless Chromium for the whole browser module.

The database is cloned from the suite's migrated template (reporting_assets_tests/conftest.py),
filled by the Dagster assets over a generated source, and served by the API tests' own
uvicorn server (reporting_assets_tests/api/conftest.py: LiveServer, Api, api_settings).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from reporting_assets.api import create_app
from reporting_assets.api.static import BUILD_COMMANDS
from reporting_assets_tests.api.conftest import PASSWORD, SECRET, Api, LiveServer, api_settings
from reporting_assets_tests.conftest import _temporary_database

from .browser import AXE_JS, CHROMEDRIVER, CHROMIUM, STATIC_INDEX, start_chrome
from .warehouse import Warehouse, fill_warehouse

USERS = {"fiona": "finance", "bill": "billing", "audrey": "auditor", "ada": "admin"}


def pytest_collection_modifyitems(items):
    """Without a browser there is nothing to drive: skip, saying how to get one. Anything else missing fails."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install chromium chromium-driver (.ci/run does)"
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def warehouse(pg_server_url: str, template_database: str, tmp_path_factory) -> Iterator[Warehouse]:
    with _temporary_database(pg_server_url, "reporting_e2e", template_database) as url:
        yield fill_warehouse(url, tmp_path_factory.mktemp("e2e-source"))


@pytest.fixture(scope="module")
def live(warehouse: Warehouse, tmp_path_factory) -> Iterator[Api]:
    """The API and dashboard on a free loopback port, with one account per role (password PASSWORD)."""
    if not (STATIC_INDEX.is_file() and AXE_JS.is_file()):
        # as `reporting-admin serve` does on a fresh checkout: npm ci (axe-core included) and the build
        for command in BUILD_COMMANDS:
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(command)} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    app = create_app(api_settings(warehouse.database_url, tmp_path_factory.mktemp("e2e-home")))
    server = LiveServer(app).__enter__()
    api = Api(server.base_url, warehouse.database_url, app)
    for name, role in USERS.items():
        api.add_user(name, role)
    try:
        yield api
    finally:
        for client in api.clients:
            client.close()
        server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def chrome(tmp_path_factory):
    if not CHROMEDRIVER.exists():
        pytest.fail(f"{CHROMEDRIVER} is missing: apt-get install chromium-driver (.ci/run does)")
    driver = start_chrome(tmp_path_factory.mktemp("chrome-profile"), tmp_path_factory.mktemp("chrome-downloads"))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chrome, live: Api):
    """The module's browser for one test, starting signed out (sessionStorage is per tab and origin)."""
    chrome.get(live.base_url + "/healthz")
    chrome.execute_script("window.sessionStorage.clear()")
    yield chrome
    chrome.get(live.base_url + "/healthz")
    chrome.execute_script("window.sessionStorage.clear()")


__all__ = ["PASSWORD", "SECRET", "USERS"]
