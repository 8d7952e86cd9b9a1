"""The API's settings: defaults, one-sentence errors, the generated secret, and a bug's 500 that tells nothing."""

from __future__ import annotations

import ipaddress
import stat

import pytest

from reporting_assets.api import create_app
from reporting_assets.api.routes import revenue
from reporting_assets.api.security import load_secret
from reporting_assets.settings import ConfigError, load_settings


def test_defaults(tmp_path):
    settings = load_settings({"REPORTING_HOME": str(tmp_path)})
    assert settings.api_secret is None and settings.api_token_minutes == 15
    assert settings.api_trusted_proxies == () and settings.api_cors_origins == ()
    assert "api_secret=" not in repr(load_settings({"REPORTING_HOME": str(tmp_path), "REPORTING_API_SECRET": "s" * 40}))


def test_lists_are_parsed(tmp_path):
    settings = load_settings({
        "REPORTING_HOME": str(tmp_path),
        "REPORTING_API_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16,::1",
        "REPORTING_API_CORS_ORIGINS": "https://reports.example.org/,http://localhost:5173",
    })
    assert settings.api_trusted_proxies == (ipaddress.ip_network("10.0.0.5/32"), ipaddress.ip_network("10.1.0.0/16"), ipaddress.ip_network("::1/128"))
    assert settings.api_cors_origins == ("https://reports.example.org", "http://localhost:5173")


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"REPORTING_API_TRUSTED_PROXIES": "10.0.0.5,proxy.internal"}, "REPORTING_API_TRUSTED_PROXIES"),
        ({"REPORTING_API_CORS_ORIGINS": "*"}, "REPORTING_API_CORS_ORIGINS"),
        ({"REPORTING_API_SECRET": "short"}, "REPORTING_API_SECRET"),
        ({"REPORTING_API_TOKEN_MINUTES": "0"}, "REPORTING_API_TOKEN_MINUTES"),
    ],
)
def test_bad_values_are_one_sentence_naming_the_variable(tmp_path, env, name):
    with pytest.raises(ConfigError) as error:
        load_settings({"REPORTING_HOME": str(tmp_path), **env})
    message = str(error.value)
    assert name in message and message.endswith(".") and "\n" not in message


def test_production_needs_a_secret(tmp_path):
    env = {"REPORTING_HOME": str(tmp_path), "REPORTING_ENV": "production", "REPORTING_DATABASE_URL": "postgresql://h/db",
           "REPORTING_SOURCE_DB": "/x.db", "REPORTING_PSEUDONYM_KEY": "k" * 40}
    with pytest.raises(ConfigError, match="REPORTING_API_SECRET"):
        create_app(load_settings(env))
    assert create_app(load_settings({**env, "REPORTING_API_SECRET": "s" * 40})) is not None


def test_the_local_secret_is_generated_once_owner_only(tmp_path):
    settings = load_settings({"REPORTING_HOME": str(tmp_path)})
    first = load_secret(settings)
    assert len(first) >= 32 and load_secret(settings) == first
    assert stat.S_IMODE(settings.api_secret_file.stat().st_mode) == 0o600


def test_a_bug_is_a_500_with_one_sentence_and_the_security_headers(api, monkeypatch):
    client = api.user("fin", "finance")

    def broken(granularity):
        raise RuntimeError("SELECT secret FROM reporting.api_user -- internal detail")

    monkeypatch.setattr(revenue, "revenue_query", broken)
    response = client.get("/api/v1/revenue")
    assert response.status_code == 500
    assert response.json() == {"detail": "The server could not complete the request; the error has been logged."}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/v1/outstanding/aging").status_code == 200  # the pool survived
