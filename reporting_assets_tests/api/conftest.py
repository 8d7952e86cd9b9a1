"""A live API per test: a real uvicorn server on a free loopback port, real HTTP, real PostgreSQL."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn

from reporting_assets.api import create_app
from reporting_assets.api.accounts import save_api_user
from reporting_assets.settings import load_settings
from reporting_assets.warehouse.database import fetch_all

SECRET = "test-api-secret-0123456789abcdef0123456789"
PASSWORD = "a-long-test-password"
USER_AGENT = "reporting-api-tests/1.0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uvicorn in a background thread, stopped the way a worker is (should_exit)."""

    def __init__(self, app) -> None:
        self.port = free_port()
        # proxy_headers=False as `serve` runs it: the app alone decides which X-Forwarded-* to trust
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", proxy_headers=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Api:
    """One running API on one test database, with helpers to make accounts and sign in."""

    base_url: str
    database_url: str
    app: object
    clients: list = field(default_factory=list)

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        all_headers = {"User-Agent": USER_AGENT, **headers}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        client = httpx.Client(base_url=self.base_url, headers=all_headers, timeout=30)
        self.clients.append(client)
        return client

    def add_user(self, name: str, role: str, *, disabled: bool = False) -> None:
        save_api_user(self.database_url, name, role, PASSWORD, disabled=disabled, actor="test:setup")

    def sign_in(self, name: str, password: str = PASSWORD) -> str:
        response = self.client().post("/api/v1/auth/token", data={"username": name, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def user(self, name: str, role: str) -> httpx.Client:
        """A client signed in as a new account of ``role``."""
        self.add_user(name, role)
        return self.client(self.sign_in(name))

    def audit_rows(self, after_id: int = 0) -> list[dict]:
        rows = fetch_all(
            self.database_url,
            "SELECT id, user_id, action, resource_type, resource_id, host(ip_address), user_agent "
            "FROM reporting.audit_log WHERE id > %s ORDER BY id",
            (after_id,),
        )
        keys = ("id", "user_id", "action", "resource_type", "resource_id", "ip_address", "user_agent")
        return [dict(zip(keys, row)) for row in rows]

    def last_audit_id(self) -> int:
        return fetch_all(self.database_url, "SELECT coalesce(max(id), 0) FROM reporting.audit_log")[0][0]


def api_settings(database_url: str, home: Path, **extra: str):
    env = {"REPORTING_DATABASE_URL": database_url, "REPORTING_HOME": str(home), "REPORTING_API_SECRET": SECRET, **extra}
    return load_settings(env)


@pytest.fixture
def start_api(tmp_path: Path):
    """Start an API on a database URL with extra settings; every server started is stopped after the test."""
    stack = []

    def start(database_url: str, **extra: str) -> Api:
        app = create_app(api_settings(database_url, tmp_path / "home", **extra))
        server = LiveServer(app).__enter__()
        api = Api(server.base_url, database_url, app)
        stack.append((server, api))
        return api

    yield start
    for server, api in reversed(stack):
        for client in api.clients:
            client.close()
        server.__exit__(None, None, None)


@pytest.fixture
def api(database_url: str, start_api) -> Iterator[Api]:
    yield start_api(database_url)
