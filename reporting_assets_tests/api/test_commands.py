"""`reporting-admin create-api-user` and `reporting-admin serve`, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reporting_assets.admin import cli
from reporting_assets.api.static import STATIC_DIR
from reporting_assets.warehouse.database import fetch_all

from .conftest import SECRET, free_port

PASSWORD = "correct-horse-battery"


@pytest.fixture
def admin_env(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTING_DATABASE_URL", database_url)
    monkeypatch.setenv("REPORTING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REPORTING_NEW_USER_PASSWORD", PASSWORD)
    return database_url


def test_create_api_user_creates_updates_disables_and_audits(admin_env, capsys):
    assert cli.main(["create-api-user", "alice", "--role", "finance"]) == 0
    assert "Created API user alice with role finance." in capsys.readouterr().out
    assert cli.main(["create-api-user", "alice", "--role", "billing"]) == 0
    assert cli.main(["create-api-user", "alice", "--role", "billing", "--disable"]) == 0
    rows = fetch_all(admin_env, "SELECT role, disabled, password_hash LIKE '$argon2id$%%' FROM reporting.api_user WHERE username = 'alice'")
    assert rows == [("billing", True, True)]
    actions = fetch_all(admin_env, "SELECT action, resource_id, user_id LIKE 'local:%%' FROM reporting.audit_log WHERE resource_type = 'api_user' ORDER BY id")
    assert actions == [("create_api_user", "alice", True), ("update_api_user", "alice", True), ("disable_api_user", "alice", True)]
    assert PASSWORD not in str(fetch_all(admin_env, "SELECT * FROM reporting.audit_log"))


@pytest.mark.parametrize(
    ("argv", "password", "message"),
    [
        (["create-api-user", "bob", "--role", "finance"], "short", "shorter than 12 characters"),
        (["create-api-user", "Bob!", "--role", "finance"], PASSWORD, "is not allowed"),
        (["create-api-user", "unknown", "--role", "finance"], PASSWORD, "is not allowed"),
    ],
)
def test_create_api_user_refuses_in_one_sentence(admin_env, monkeypatch, capsys, argv, password, message):
    monkeypatch.setenv("REPORTING_NEW_USER_PASSWORD", password)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_serve_answers_on_its_port_until_stopped(admin_env, tmp_path):
    assert cli.main(["create-api-user", "alice", "--role", "finance"]) == 0
    port = free_port()
    env = {**os.environ, "REPORTING_API_SECRET": SECRET}
    command = [str(Path(sys.executable).with_name("reporting-admin")), "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "serve did not come up"
            time.sleep(0.2)
        token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "alice", "password": PASSWORD}).json()["access_token"]
        for _ in range(4):  # either worker verifies the same token
            response = httpx.get(f"{base}/api/v1/revenue", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200 and "periods" in response.json()
        # serve built the dashboard before it started when it was missing: / is its index.html
        assert httpx.get(f"{base}/").text == (STATIC_DIR / "index.html").read_text()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Traceback" not in output
