"""Sign-in: audit rows, the shared throttle, token expiry, disabled accounts, client addresses behind proxies."""

from __future__ import annotations

import datetime as dt

from reporting_assets.api.security import TokenIssuer
from reporting_assets.warehouse.database import fetch_all

from .conftest import PASSWORD, SECRET


def sign_in(client, username: str, password: str):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_sign_in_returns_a_token_and_audits_success_and_failure(api):
    api.add_user("alice", "finance")
    client = api.client()
    before = api.last_audit_id()
    good = sign_in(client, "alice", PASSWORD)
    assert good.status_code == 200
    assert good.json()["token_type"] == "bearer" and good.json()["expires_in"] == 900
    bad = sign_in(client, "alice", "wrong-password-123")
    assert bad.status_code == 401 and bad.json() == {"detail": "Wrong user name or password."}
    unknown = sign_in(client, "Someone@Example.com", "my secret")
    assert unknown.status_code == 401 and unknown.json() == bad.json()
    rows = [(r["user_id"], r["action"], r["resource_id"]) for r in api.audit_rows(before)]
    # an unknown name is not recorded: people type e-mail addresses and passwords into it
    assert rows == [("api:alice", "login", "alice"), ("api:alice", "login_failed", "alice"), ("api:unknown", "login_failed", None)]
    assert fetch_all(api.database_url, "SELECT last_login_at IS NOT NULL FROM reporting.api_user WHERE username = 'alice'") == [(True,)]


def test_the_sixth_failed_sign_in_within_a_minute_is_refused_even_with_the_right_password(api):
    api.add_user("alice", "finance")
    client = api.client()
    for _ in range(5):
        assert sign_in(client, "alice", "wrong-password-123").status_code == 401
    throttled = sign_in(client, "alice", PASSWORD)
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "60"
    assert throttled.json() == {"detail": "Too many failed sign-ins; wait a minute and try again."}
    # a minute later (the rows age out of the window) the right password works again
    fetch_all(api.database_url, "ALTER TABLE reporting.audit_log DISABLE TRIGGER audit_log_append_only")
    fetch_all(api.database_url, "UPDATE reporting.audit_log SET timestamp = timestamp - interval '61 seconds' WHERE action = 'login_failed'")
    assert sign_in(client, "alice", PASSWORD).status_code == 200


def test_the_throttle_counts_per_address_and_per_user_across_api_processes(database_url, start_api):
    first = start_api(database_url, REPORTING_API_TRUSTED_PROXIES="127.0.0.1")
    second = start_api(database_url, REPORTING_API_TRUSTED_PROXIES="127.0.0.1")  # a second process on the same database
    first.add_user("alice", "finance")
    first.add_user("bob", "finance")
    attacker = "203.0.113.7"
    for index in range(5):
        api = (first, second)[index % 2]
        assert sign_in(api.client(**{"X-Forwarded-For": attacker}), f"nobody{index}", "guess-guess-guess").status_code == 401
    # the attacker's address is throttled whatever name it tries, on either process...
    assert sign_in(second.client(**{"X-Forwarded-For": attacker}), "bob", PASSWORD).status_code == 429
    # ...while bob from his own address signs in
    assert sign_in(first.client(**{"X-Forwarded-For": "198.51.100.2"}), "bob", PASSWORD).status_code == 200
    # five failures for alice from five addresses throttle alice everywhere
    for index in range(5):
        assert sign_in(first.client(**{"X-Forwarded-For": f"192.0.2.{index + 1}"}), "alice", "wrong-password-123").status_code == 401
    assert sign_in(second.client(**{"X-Forwarded-For": "192.0.2.200"}), "alice", PASSWORD).status_code == 429
    addresses = fetch_all(database_url, "SELECT DISTINCT host(ip_address) FROM reporting.audit_log WHERE action = 'login_failed' ORDER BY 1")
    assert ("203.0.113.7",) in addresses and ("192.0.2.1",) in addresses


def test_forwarded_headers_count_only_from_trusted_proxies(database_url, start_api):
    untrusted = start_api(database_url)
    trusted = start_api(database_url, REPORTING_API_TRUSTED_PROXIES="127.0.0.0/8")
    untrusted.add_user("fin", "finance")
    token = untrusted.sign_in("fin")
    spoof = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    before = untrusted.last_audit_id()
    direct = untrusted.client(token, **spoof).get("/api/v1/revenue")
    assert "strict-transport-security" not in direct.headers
    proxied = trusted.client(token, **{**spoof, "X-Forwarded-For": "10.9.9.9, 203.0.113.9"}).get("/api/v1/revenue")
    assert proxied.headers["strict-transport-security"].startswith("max-age=")
    assert [r["ip_address"] for r in untrusted.audit_rows(before)] == ["127.0.0.1", "203.0.113.9"]


def test_an_expired_token_stops_working(api):
    api.add_user("fin", "finance")
    issuer = TokenIssuer(SECRET, 15)
    fresh = issuer.issue("fin", now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=14))
    stale = issuer.issue("fin", now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=16))
    assert api.client(fresh).get("/api/v1/revenue").status_code == 200
    assert api.client(stale).get("/api/v1/revenue").status_code == 401


def test_token_lifetime_follows_the_setting(database_url, start_api):
    api = start_api(database_url, REPORTING_API_TOKEN_MINUTES="2")
    api.add_user("fin", "finance")
    response = sign_in(api.client(), "fin", PASSWORD)
    assert response.json()["expires_in"] == 120


def test_a_disabled_account_stops_working_at_once(api):
    client = api.user("fin", "finance")
    assert client.get("/api/v1/revenue").status_code == 200
    api.add_user("fin", "finance", disabled=True)
    assert client.get("/api/v1/revenue").status_code == 401
    assert client.get("/api/v1/revenue.csv").status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    assert sign_in(api.client(), "fin", PASSWORD).status_code == 401
    api.add_user("fin", "finance")  # enabled again: the old token works again until it expires
    assert client.get("/api/v1/revenue").status_code == 200


def test_cors_only_when_configured(database_url, start_api):
    closed = start_api(database_url)
    opened = start_api(database_url, REPORTING_API_CORS_ORIGINS="https://reports.example.org")
    preflight = {"Origin": "https://reports.example.org", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in closed.client().options("/api/v1/revenue", headers=preflight).headers
    assert opened.client().options("/api/v1/revenue", headers=preflight).headers["access-control-allow-origin"] == "https://reports.example.org"
    assert "access-control-allow-origin" not in opened.client().options("/api/v1/revenue", headers={**preflight, "Origin": "https://evil.example"}).headers
