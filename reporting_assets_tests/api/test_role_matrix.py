"""Every v1 report and its CSV twin against every kind of caller: exact statuses and exactly the audit rows SPEC 10 asks for."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest

from reporting_assets.api.roles import REPORTS_BY_ROLE
from reporting_assets.api.security import TokenIssuer

from .conftest import SECRET, USER_AGENT

# (report, path, resource_type)
ENDPOINTS = [
    ("revenue", "/api/v1/revenue?start=2026-03-01&end=2026-03-31", "revenue_metrics"),
    ("aging", "/api/v1/outstanding/aging", "ar_aging"),
    ("outstanding", "/api/v1/outstanding", "outstanding_payments"),
    ("payments", "/api/v1/payments", "patient_payment_history"),
    ("etl_runs", "/api/v1/etl/runs", "etl_process_status"),
    ("data_health", "/api/v1/data-health", "table_freshness"),
    ("audit", "/api/v1/audit", "audit_log"),
]


def _csv_twin(path: str) -> str:
    base, _, query = path.partition("?")
    return base + ".csv" + (f"?{query}" if query else "")


CALLS = [(report, path, resource, "view_report") for report, path, resource in ENDPOINTS] + [
    (report, _csv_twin(path), resource, "export_data") for report, path, resource in ENDPOINTS
]


@pytest.fixture
def callers(api):
    """A token per kind of caller: the four roles, none, expired, tampered and a disabled account."""
    tokens = {}
    for role in REPORTS_BY_ROLE:
        api.add_user(f"user_{role}", role)
        tokens[role] = api.sign_in(f"user_{role}")
    api.add_user("user_disabled", "admin")
    tokens["disabled"] = api.sign_in("user_disabled")
    api.add_user("user_disabled", "admin", disabled=True)
    tokens["none"] = None
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    tokens["expired"] = TokenIssuer(SECRET, 15).issue("user_admin", now=past)
    header, payload, signature = tokens["admin"].split(".")
    tokens["tampered"] = ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    # a token for another role's account, signed with a different key
    tokens["forged"] = jwt.encode({"sub": "user_admin", "iss": "reporting-api", "iat": past, "exp": past + dt.timedelta(days=1)}, "x" * 40, algorithm="HS256")
    return tokens


def expected_status(caller: str, report: str) -> int:
    if caller in REPORTS_BY_ROLE:
        return 200 if report in REPORTS_BY_ROLE[caller] else 403
    return 401


def test_every_endpoint_for_every_caller(api, callers):
    outcomes = []
    for caller, token in callers.items():
        client = api.client(token)
        for report, path, resource_type, action in CALLS:
            before = api.last_audit_id()
            response = client.get(path)
            rows = api.audit_rows(before)
            expected = expected_status(caller, report)
            outcomes.append((caller, path, response.status_code, expected))
            assert response.status_code == expected, (caller, path, response.text)
            if expected == 200:
                assert [(r["action"], r["resource_type"], r["user_id"], r["ip_address"], r["user_agent"]) for r in rows] == [
                    (action, resource_type, f"api:user_{caller}", "127.0.0.1", USER_AGENT)
                ], (caller, path)
                assert len(rows[0]["resource_id"]) <= 50
                if action == "export_data":
                    assert response.headers["content-type"] == "text/csv; charset=utf-8"
                    assert response.headers["content-disposition"].startswith('attachment; filename="')
            elif expected == 403:
                assert response.json() == {"detail": f"Your role ({caller}) is not permitted to read {resource_type}."}
                assert [(r["action"], r["resource_type"], r["user_id"]) for r in rows] == [("access_denied", resource_type, f"api:user_{caller}")]
            else:
                assert response.headers["www-authenticate"] == "Bearer"
                assert response.json() == {"detail": "Sign in again: the token is missing, expired or invalid."}
                if caller == "disabled":
                    assert [(r["action"], r["user_id"]) for r in rows] == [("access_denied", "api:user_disabled")]
                else:
                    assert rows == []
    assert len(outcomes) == len(callers) * 14


def test_me_lists_the_reports_of_the_role_without_an_audit_row(api, callers):
    for role, reports in REPORTS_BY_ROLE.items():
        before = api.last_audit_id()
        response = api.client(callers[role]).get("/api/v1/me")
        assert response.json() == {"username": f"user_{role}", "role": role, "reports": list(reports)}
        assert api.audit_rows(before) == []
    for caller in ("none", "expired", "tampered", "forged", "disabled"):
        assert api.client(callers[caller]).get("/api/v1/me").status_code == 401


def test_a_role_change_applies_to_the_next_request(api, callers):
    client = api.client(callers["finance"])
    assert client.get("/api/v1/outstanding").status_code == 403
    api.add_user("user_finance", "billing")
    assert client.get("/api/v1/outstanding").status_code == 200
