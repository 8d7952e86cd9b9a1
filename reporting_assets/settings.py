"""Every setting of the platform, read from the environment in one place.

Each variable has a documented default (README, "Configuration"). A bad value raises
`ConfigError` whose message is one sentence naming the variable and the fix.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import os
import re
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .dates import clinic_today


class ConfigError(RuntimeError):
    """A configuration problem a user can fix; the message is the whole story."""


DEFAULT_START_DATE = "2025-01-01"
DEFAULT_TIMEZONE = "UTC"
EXECUTORS = ("in_process", "multiprocess", "celery")
DEFAULT_CELERY_BROKER_URL = "pyamqp://guest@127.0.0.1//"
DEFAULT_CELERY_BACKEND_URL = "rpc://"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    source_db: Path | None
    pseudonym_key: str | None = field(repr=False)  # secret: never printed
    pseudonym_key_file: Path | None
    timezone: str
    start_date: dt.date
    production: bool
    # outstanding_payments thresholds (docs/data-model.md)
    collection_days: int
    write_off_days: int
    # retention (docs/operations.md), in days
    report_retention_days: int
    audit_retention_days: int
    etl_status_retention_days: int
    quarantine_retention_days: int
    # orchestration (docs/operations.md)
    schedule_time: str
    lookback_days: int
    sensor_interval_seconds: int
    # the reporting API (SPEC section 10)
    api_secret: str | None = field(default=None, repr=False)
    api_token_minutes: int = 15
    api_trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    api_cors_origins: tuple[str, ...] = ()
    # dim_date (docs/data-model.md): the month the fiscal year starts in, 1 = January
    fiscal_year_start_month: int = 1
    # scaling out (docs/deployment.md, "Scaling out")
    executor: str = "in_process"
    celery_broker_url: str = field(default=DEFAULT_CELERY_BROKER_URL, repr=False)  # may hold a password
    celery_backend_url: str = field(default=DEFAULT_CELERY_BACKEND_URL, repr=False)
    backfill_max_partitions_per_run: int | None = None
    celery_queue: str = "dagster"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sample_source_db(self) -> Path:
        return self.home / "sample" / "clinic.db"

    @property
    def effective_source_db(self) -> Path:
        return self.source_db or self.sample_source_db

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def schedule_hour_minute(self) -> tuple[int, int]:
        hour, minute = self.schedule_time.split(":")
        return int(hour), int(minute)

    @property
    def api_secret_file(self) -> Path:
        return self.home / "api_secret"

    def today(self) -> dt.date:
        return clinic_today(self.timezone)


def _int(env: dict[str, str] | os._Environ, name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; set it to a number of days such as {default}.") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}; set it to a number such as {default}.")
    return value


def _networks(name: str, raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{name} holds {item!r}, which is not an IP address or CIDR range; list addresses such as 10.0.0.5,10.1.0.0/16.") from None
    return tuple(networks)


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?", origin):
            raise ConfigError(f"{name} holds {origin!r}, which is not an origin; list origins such as https://reports.example.org.")
    return origins


def _executor(raw: str) -> str:
    executor = raw.lower().replace("-", "_") or "in_process"
    if executor not in EXECUTORS:
        raise ConfigError(f"REPORTING_EXECUTOR={raw!r} is not an executor; set it to in_process, multiprocess or celery.")
    return executor


def _queue(raw: str) -> str:
    if raw and not re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", raw):
        raise ConfigError(f"REPORTING_CELERY_QUEUE={raw!r} is not a queue name; use letters, digits, dots, dashes or underscores, such as reporting.")
    return raw or "dagster"


def normalize_database_url(url: str, variable: str = "REPORTING_DATABASE_URL") -> str:
    """Validate a libpq-style URL and pin the psycopg2 driver.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which is not installed;
    query parameters such as ``sslmode`` pass through untouched.
    """
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise ConfigError(
            f"{variable} is not a database URL; use the form postgresql://USER:PASSWORD@HOST:5432/DBNAME?sslmode=require."
        ) from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ConfigError(
            f"{variable} must point at PostgreSQL (postgresql://...), not {parsed.get_backend_name()!r}; "
            "set it to a postgresql:// URL or unset it to use the embedded server."
        )
    if parsed.drivername in ("postgres", "postgresql") or parsed.get_driver_name() != "psycopg2":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and check every REPORTING_* variable; raise ConfigError on the first bad one."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str:
        return env.get(name, "").strip()

    home = Path(get("REPORTING_HOME") or ".reporting").expanduser().resolve()

    database_url = get("REPORTING_DATABASE_URL") or None
    if database_url:
        database_url = normalize_database_url(database_url)

    source_db = Path(get("REPORTING_SOURCE_DB")).expanduser().resolve() if get("REPORTING_SOURCE_DB") else None

    timezone = get("REPORTING_TIMEZONE") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"REPORTING_TIMEZONE={timezone!r} is not an IANA time zone; use a name such as America/Chicago or UTC."
        ) from None

    raw_start = get("REPORTING_START_DATE") or DEFAULT_START_DATE
    try:
        start_date = dt.date.fromisoformat(raw_start)
    except ValueError:
        raise ConfigError(
            f"REPORTING_START_DATE={raw_start!r} is not a date; use the ISO form YYYY-MM-DD, such as {DEFAULT_START_DATE}."
        ) from None

    schedule_time = get("REPORTING_SCHEDULE_TIME") or "02:00"
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", schedule_time):
        raise ConfigError(f"REPORTING_SCHEDULE_TIME={schedule_time!r} is not a time of day; use HH:MM in 24-hour form, such as 02:00.")

    key_file = Path(get("REPORTING_PSEUDONYM_KEY_FILE")).expanduser() if get("REPORTING_PSEUDONYM_KEY_FILE") else None
    fiscal_start = get("REPORTING_FISCAL_YEAR_START_MONTH") or "1"
    if not (fiscal_start.isdigit() and 1 <= int(fiscal_start) <= 12):
        raise ConfigError(f"REPORTING_FISCAL_YEAR_START_MONTH={fiscal_start!r} is not a month number; set it to 1 (January) through 12 (December).")

    production = get("REPORTING_ENV").lower() in ("production", "prod")
    settings = Settings(
        home=home,
        database_url=database_url,
        source_db=source_db,
        pseudonym_key=get("REPORTING_PSEUDONYM_KEY") or None,
        pseudonym_key_file=key_file,
        timezone=timezone,
        start_date=start_date,
        production=production,
        collection_days=_int(env, "REPORTING_COLLECTION_DAYS", 120, minimum=1),
        write_off_days=_int(env, "REPORTING_WRITE_OFF_DAYS", 365, minimum=1),
        report_retention_days=_int(env, "REPORTING_REPORT_RETENTION_DAYS", 365, minimum=1),
        audit_retention_days=_int(env, "REPORTING_AUDIT_RETENTION_DAYS", 365, minimum=1),
        etl_status_retention_days=_int(env, "REPORTING_ETL_STATUS_RETENTION_DAYS", 183, minimum=1),
        quarantine_retention_days=_int(env, "REPORTING_QUARANTINE_RETENTION_DAYS", 365, minimum=1),
        schedule_time=schedule_time,
        lookback_days=_int(env, "REPORTING_LOOKBACK_DAYS", 3, minimum=1),
        sensor_interval_seconds=_int(env, "REPORTING_SENSOR_INTERVAL_SECONDS", 60, minimum=5),
        api_secret=get("REPORTING_API_SECRET") or None,
        api_token_minutes=_int(env, "REPORTING_API_TOKEN_MINUTES", 15, minimum=1),
        api_trusted_proxies=_networks("REPORTING_API_TRUSTED_PROXIES", get("REPORTING_API_TRUSTED_PROXIES")),
        api_cors_origins=_origins("REPORTING_API_CORS_ORIGINS", get("REPORTING_API_CORS_ORIGINS")),
        fiscal_year_start_month=int(fiscal_start),
        executor=_executor(get("REPORTING_EXECUTOR")),
        celery_broker_url=get("REPORTING_CELERY_BROKER_URL") or DEFAULT_CELERY_BROKER_URL,
        celery_backend_url=get("REPORTING_CELERY_BACKEND_URL") or DEFAULT_CELERY_BACKEND_URL,
        celery_queue=_queue(get("REPORTING_CELERY_QUEUE")),
        # unset: a backfill is one run (the 15 only names an example in the error message)
        backfill_max_partitions_per_run=(
            _int(env, "REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN", 15, minimum=1) if get("REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN") else None
        ),
    )
    if settings.api_secret is not None and len(settings.api_secret) < 32:
        raise ConfigError("REPORTING_API_SECRET is shorter than 32 characters; use a long random one (e.g. `openssl rand -hex 32`).")
    if settings.collection_days >= settings.write_off_days:
        raise ConfigError(
            "REPORTING_COLLECTION_DAYS must be smaller than REPORTING_WRITE_OFF_DAYS; "
            f"they are {settings.collection_days} and {settings.write_off_days}."
        )
    if production:
        missing = [
            name
            for name, ok in (
                ("REPORTING_DATABASE_URL", bool(database_url)),
                ("REPORTING_SOURCE_DB", bool(source_db)),
                ("REPORTING_PSEUDONYM_KEY or REPORTING_PSEUDONYM_KEY_FILE", bool(settings.pseudonym_key or key_file)),
            )
            if not ok
        ]
        if missing:
            raise ConfigError(
                f"REPORTING_ENV=production needs {', '.join(missing)} set; production never falls back to local defaults."
            )
    return settings


_in_use: contextvars.ContextVar[Settings | None] = contextvars.ContextVar("reporting_settings", default=None)


@contextlib.contextmanager
def settings_in_use(settings: Settings) -> Iterator[Settings]:
    """Make ``settings`` the ones the ``defs/`` modules build with while the defs folder loads."""
    token = _in_use.set(settings)
    try:
        yield settings
    finally:
        _in_use.reset(token)


def current_settings() -> Settings:
    """The settings ``reporting_assets.definitions.build_definitions`` is loading the defs folder with."""
    settings = _in_use.get()
    if settings is None:
        raise RuntimeError("Load the defs folder through reporting_assets.definitions.build_definitions(settings).")
    return settings
