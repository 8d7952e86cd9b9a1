"""A real PostgreSQL server started from Python (pgserver) when no REPORTING_DATABASE_URL is set.

Its data lives in ``$REPORTING_HOME/pgdata`` and it keeps running after the process
that started it exits, so the quickstart, ``dagster dev`` and psql all share it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ..settings import ConfigError, normalize_database_url


def embedded_database_url(pgdata: Path) -> str:
    """Start (or reuse) the embedded server in ``pgdata`` and return its psycopg2 URL."""
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:  # pgserver raises plain exceptions with the postgres log
        raise ConfigError(
            f"The embedded PostgreSQL in {pgdata} did not start ({type(exc).__name__}); "
            f"remove that folder to start afresh, or set REPORTING_DATABASE_URL to a running server."
        ) from exc
    url = normalize_database_url(server.get_uri())
    _require_passwords_for_platform_logins(pgdata, url)
    return url


# The embedded server trusts local connections (its superuser has no password), but the platform's
# login users must prove their passwords, as they do in production, so trying the roles locally shows
# what production does. Lines are matched top-down: these come first.
_PASSWORD_RULES = """# reporting platform: members of the platform's roles sign in with their passwords
local   all   +reporting_bi,+reporting_auditor,+reporting_writer                  scram-sha-256
host    all   +reporting_bi,+reporting_auditor,+reporting_writer   127.0.0.1/32   scram-sha-256
host    all   +reporting_bi,+reporting_auditor,+reporting_writer   ::1/128        scram-sha-256
"""


def _require_passwords_for_platform_logins(pgdata: Path, url: str) -> None:
    hba = pgdata / "pg_hba.conf"
    current = hba.read_text()
    if _PASSWORD_RULES in current:
        return
    hba.write_text(_PASSWORD_RULES + current)
    import psycopg2

    from .database import libpq_dsn

    conn = psycopg2.connect(libpq_dsn(url))
    try:
        conn.cursor().execute("SELECT pg_reload_conf()")
    finally:
        conn.close()


def stop_embedded_server(pgdata: Path) -> bool:
    """Stop the embedded server if one runs in ``pgdata``; True when one was stopped.

    pgserver itself stops a server only for the last process that used it, and every earlier
    command registered itself, so the server is stopped with pg_ctl as the user that runs it.
    """
    if not (pgdata / "postmaster.pid").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        from pgserver._commands import pg_ctl

    server = pgserver.get_server(pgdata, cleanup_mode=None)
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=server.pgdata, user=server.system_user)
    return not (pgdata / "postmaster.pid").exists()
