"""Configuration: documented defaults, and one clear sentence for every value a user can get wrong."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from reporting_assets.settings import ConfigError, load_settings, normalize_database_url
from reporting_assets.source.reader import open_source


def one_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and message.count(". ") == 0


def test_defaults(tmp_path):
    settings = load_settings({"REPORTING_HOME": str(tmp_path)})
    assert settings.home == tmp_path
    assert settings.database_url is None and settings.source_db is None
    assert settings.timezone == "UTC" and settings.start_date == dt.date(2025, 1, 1)
    assert (settings.collection_days, settings.write_off_days) == (120, 365)
    assert (settings.report_retention_days, settings.audit_retention_days, settings.etl_status_retention_days, settings.quarantine_retention_days) == (365, 365, 183, 365)
    assert settings.effective_source_db == tmp_path / "sample" / "clinic.db"
    assert settings.fiscal_year_start_month == 1
    assert load_settings({"REPORTING_HOME": str(tmp_path), "REPORTING_FISCAL_YEAR_START_MONTH": "7"}).fiscal_year_start_month == 7
    # today's behaviour: every step in the run's process, a backfill is one run
    assert settings.executor == "in_process" and settings.backfill_max_partitions_per_run is None
    assert (settings.celery_broker_url, settings.celery_backend_url, settings.celery_queue) == ("pyamqp://guest@127.0.0.1//", "rpc://", "dagster")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"REPORTING_TIMEZONE": "Mars/Olympus"}, "REPORTING_TIMEZONE"),
        ({"REPORTING_START_DATE": "01/02/2025"}, "REPORTING_START_DATE"),
        ({"REPORTING_DATABASE_URL": "mysql://root@localhost/db"}, "REPORTING_DATABASE_URL"),
        ({"REPORTING_DATABASE_URL": "not a url at all"}, "REPORTING_DATABASE_URL"),
        ({"REPORTING_COLLECTION_DAYS": "soon"}, "REPORTING_COLLECTION_DAYS"),
        ({"REPORTING_AUDIT_RETENTION_DAYS": "0"}, "REPORTING_AUDIT_RETENTION_DAYS"),
        ({"REPORTING_SCHEDULE_TIME": "25:00"}, "REPORTING_SCHEDULE_TIME"),
        ({"REPORTING_FISCAL_YEAR_START_MONTH": "13"}, "REPORTING_FISCAL_YEAR_START_MONTH"),
        ({"REPORTING_FISCAL_YEAR_START_MONTH": "July"}, "REPORTING_FISCAL_YEAR_START_MONTH"),
        ({"REPORTING_COLLECTION_DAYS": "400"}, "REPORTING_COLLECTION_DAYS"),
        ({"REPORTING_ENV": "production"}, "REPORTING_DATABASE_URL"),
        ({"REPORTING_EXECUTOR": "kubernetes"}, "REPORTING_EXECUTOR"),
        ({"REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN": "0"}, "REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN"),
        ({"REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN": "a week"}, "REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN"),
        ({"REPORTING_CELERY_QUEUE": "my queue"}, "REPORTING_CELERY_QUEUE"),
        ({"REPORTING_ENV": "production", "REPORTING_DATABASE_URL": "postgresql://h/db", "REPORTING_SOURCE_DB": "/x.db"}, "REPORTING_PSEUDONYM_KEY"),
    ],
)
def test_bad_values_fail_with_one_sentence_naming_the_variable(env, names):
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    message = str(error.value)
    assert names in message
    assert one_sentence(message), message


def test_urls_are_pinned_to_psycopg2_and_keep_tls_parameters():
    url = normalize_database_url("postgresql://u:p@db.example.org:5432/reports?sslmode=verify-full&sslrootcert=/etc/ca.pem")
    assert url.startswith("postgresql+psycopg2://u:p@db.example.org:5432/reports?")
    # both TLS parameters survive, whatever the URL's quoting of the path
    assert dict(make_url(url).query) == {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem"}


def test_missing_source_file_is_one_sentence(tmp_path):
    with pytest.raises(ConfigError) as error:
        with open_source(tmp_path / "nope.db"):
            pass
    assert "REPORTING_SOURCE_DB" in str(error.value) and one_sentence(str(error.value))


def test_not_a_sqlite_file_is_one_sentence(tmp_path):
    bogus = tmp_path / "bogus.db"
    bogus.write_text("this is not a database " * 100)
    with pytest.raises(ConfigError) as error:
        with open_source(bogus):
            pass
    assert "REPORTING_SOURCE_DB" in str(error.value) and one_sentence(str(error.value))


def _cli(args, env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTING_")}
    env.update({"REPORTING_HOME": str(tmp_path / "home"), **env_extra})
    return subprocess.run([sys.executable, "-m", "reporting_assets.admin.cli", *args], env=env, capture_output=True, text=True, timeout=120)


def test_unreachable_postgres_is_one_line_on_stderr(tmp_path):
    result = _cli(["init-db"], {"REPORTING_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nowhere"}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Cannot connect to PostgreSQL" in lines[0] and "REPORTING_DATABASE_URL" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_timezone_is_one_line_on_stderr(tmp_path):
    result = _cli(["summary"], {"REPORTING_TIMEZONE": "Nowhere/Land"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "REPORTING_TIMEZONE" in result.stderr


def test_generated_pseudonym_key_is_owner_only_and_stable(tmp_path):
    from reporting_assets.defs.resources import PseudonymKeyResource

    first = PseudonymKeyResource(home=str(tmp_path)).pseudonymizer()(42)
    key_file = Path(tmp_path) / "pseudonym.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert PseudonymKeyResource(home=str(tmp_path)).pseudonymizer()(42) == first
    assert first.startswith("pt_") and len(first) == 35


def test_pseudonyms_are_the_specified_hmac_and_survive_a_full_cache(monkeypatch):
    from reporting_assets.staging.pseudonym import Pseudonymizer
    from reporting_assets_tests.conftest import TEST_KEY, pseudonym

    monkeypatch.setattr(Pseudonymizer, "CACHE_ENTRIES", 2)
    pseudonymize = Pseudonymizer(TEST_KEY.encode())
    first = [pseudonymize(i) for i in range(1, 6)]
    assert first == [pseudonym(i) for i in range(1, 6)]
    assert [pseudonymize(i) for i in range(1, 6)] == first
    assert len(pseudonymize._cache) <= 2
    assert TEST_KEY not in repr(pseudonymize)
