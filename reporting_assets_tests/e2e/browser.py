"""Headless Debian Chromium driven by Selenium, the fixtures' and the screenshot script's one browser.

Nothing is downloaded at run time: the browser is /usr/bin/chromium and the driver
/usr/bin/chromedriver (Debian's chromium and chromium-driver), and axe-core is read from
dashboard/node_modules (a devDependency in dashboard/package.json).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE_JS = ROOT / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
STATIC_INDEX = ROOT / "reporting_assets" / "api" / "static" / "index.html"
TOKEN_KEY = "reporting.token"  # dashboard/src/lib/api.ts

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=en-US",
    "--hide-scrollbars",
)


def start_chrome(profile: Path, downloads: Path, width: int = 1280, height: int = 900):
    """A fresh headless Chromium with its own profile, saving downloads into ``downloads``."""
    # Selenium Manager is never asked for anything: the driver path is given, and offline mode is on
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    downloads.mkdir(parents=True, exist_ok=True)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False, "safebrowsing.enabled": False},
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.set_window_size(width, height)
    driver.implicitly_wait(0)
    return driver


def wait_for(condition: Callable[[], object], timeout: float = 20, what: str = "the page") -> object:
    """Poll ``condition`` until it returns something truthy; its last exception explains a timeout."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception as error:  # noqa: BLE001 - the element may not be there yet
            last = error
        else:
            if value:
                return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f": {last!r}" if last else ""))


def settled(driver) -> bool:
    """No loading state left on the page."""
    return not driver.find_elements("css selector", '[role="status"]') and driver.execute_script("return document.readyState") == "complete"


def sign_in(driver, base_url: str, username: str, password: str, path: str = "/") -> None:
    """Sign in through the form, starting at ``path`` (the app sends a signed-out visitor to /sign-in)."""
    driver.get(base_url + "/healthz")  # same origin: whoever was signed in in this tab is signed out
    driver.execute_script("window.sessionStorage.clear()")
    driver.get(base_url + path)
    user = wait_for(lambda: driver.find_element("css selector", "input[name=username]"), what="the sign-in form")
    user.send_keys(username)
    driver.find_element("css selector", "input[name=password]").send_keys(password)
    driver.find_element("css selector", "form button[type=submit]").click()
    wait_for(lambda: "/sign-in" not in driver.current_url and driver.find_elements("css selector", "nav[aria-label=Reports] a"), what="signed-in page")


def sign_out(driver) -> None:
    driver.execute_script("window.sessionStorage.clear()")


def nav_labels(driver) -> list[str]:
    return [link.text for link in driver.find_elements("css selector", "nav[aria-label=Reports] a")]


def axe_run(driver) -> dict:
    """axe-core over the current page: how many rules passed, and every violation (rule id, impact, help, targets)."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.axe.run(document)"
        ".then(r => done({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))}))"
        ".catch(e => done({passes: 0, violations: [{id: 'axe-error', impact: 'critical', help: String(e), targets: []}]}));"
    )
    if not result["passes"] and not result["violations"]:
        raise AssertionError("axe-core checked nothing on the page")
    return result


def axe_violations(driver, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations of the given impacts on the current page."""
    return [violation for violation in axe_run(driver)["violations"] if violation["impact"] in impacts]


def expired_token(secret: str, username: str) -> str:
    """A token signed with the server's secret, as the server issues them, that expired a minute ago."""
    import jwt

    now = dt.datetime.now(dt.timezone.utc)
    claims = {"sub": username, "iss": "reporting-api", "iat": now - dt.timedelta(minutes=16), "exp": now - dt.timedelta(minutes=1)}
    return jwt.encode(claims, secret, algorithm="HS256")


def wait_for_download(folder: Path, suffix: str = ".csv", timeout: float = 20) -> Path:
    def done() -> Path | None:
        files = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        partial = [p for p in folder.iterdir() if p.name.endswith(".crdownload")]
        return files[0] if len(files) == 1 and not partial else None

    return wait_for(done, timeout, what=f"a {suffix} download in {folder}")
