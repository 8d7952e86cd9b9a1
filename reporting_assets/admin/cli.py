"""``reporting-admin``: set up the database, make sample data, run the pipeline once, start Dagster.

Every user-caused error ends in one sentence on stderr and exit status 2, not a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
import warnings
from pathlib import Path

from ..settings import ConfigError, load_settings


def _settings():
    settings = load_settings()
    _say_where_local_state_goes(settings)
    return settings


def _say_where_local_state_goes(settings) -> None:
    """A command about to create local state where none is says where, once (it is then there next time)."""
    if settings.database_url is None and not settings.home.exists():  # the embedded server's data goes there
        print(
            f"reporting-admin: creating local state in {settings.home} (embedded database, sample source, keys); "
            "set REPORTING_HOME to keep it elsewhere, or REPORTING_DATABASE_URL to use a running server.",
            file=sys.stderr,
        )


def cmd_init_db(args: argparse.Namespace) -> int:
    from ..warehouse.database import redact, resolve_database_url
    from ..warehouse.migrations import apply_migrations, schema_version

    settings = _settings()
    url = resolve_database_url(settings.database_url, settings.home)
    applied = apply_migrations(url)
    print(f"Reporting schema at version {schema_version(url)} on {redact(url)}" + (f" (applied {', '.join(applied)})" if applied else " (already up to date)"))
    return 0


def cmd_sample_data(args: argparse.Namespace) -> int:
    from ..source.sample_data import SampleSpec, generate_sample_database

    settings = _settings()
    out = Path(args.out) if args.out else settings.sample_source_db
    spec = SampleSpec(patients=args.patients, payments=args.payments, days=args.days, seed=args.seed, messy=args.messy)
    try:
        summary = generate_sample_database(out, spec, overwrite=args.overwrite)
    except FileExistsError as exc:
        raise ConfigError(str(exc)) from None
    print(
        f"Wrote {summary.patients} patients, {summary.invoices} invoices and {summary.payments} payments "
        f"({summary.first_date} to {summary.last_date}) to {summary.path}"
    )
    return 0


def cmd_db_url(args: argparse.Namespace) -> int:
    from ..warehouse.database import redact, resolve_database_url

    settings = _settings()
    url = resolve_database_url(settings.database_url, settings.home)
    shown = url if args.show_password else redact(url)
    print(shown if args.sqlalchemy else shown.replace("postgresql+psycopg2://", "postgresql://"))
    return 0


def cmd_stop_db(args: argparse.Namespace) -> int:
    from ..warehouse.embedded import stop_embedded_server

    settings = _settings()
    stopped = stop_embedded_server(settings.embedded_pgdata)
    print("Stopped the embedded PostgreSQL." if stopped else f"No embedded PostgreSQL is running in {settings.embedded_pgdata}.")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from .summary import print_summary

    settings = _settings()
    print_summary(settings)
    return 0


def cmd_quickstart(args: argparse.Namespace) -> int:
    """Sample data (if no source is configured), schema, every reporting asset over the source's dates, summary."""
    from .quickstart import run_quickstart

    run_quickstart(_settings(), days=args.days)
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    """The Dagster webserver and daemon on the local instance (schedules and sensors tick)."""
    from .instance import run_dagster_dev

    settings = _settings()
    return run_dagster_dev(settings, args.host, args.port)


def cmd_backfill(args: argparse.Namespace) -> int:
    """The daily facts over FIRST..LAST as one asset backfill for the daemon, split into runs by the backfill policy."""
    import dagster as dg

    from .backfill import backfill_days, request_backfill

    settings = _settings()
    try:
        first, last = dt.date.fromisoformat(args.first), dt.date.fromisoformat(args.last)
    except ValueError:
        raise ConfigError(f"{args.first!r} or {args.last!r} is not a day; give both as YYYY-MM-DD.") from None
    days = backfill_days(settings, first, last)
    with dg.DagsterInstance.get() as instance:
        backfill_id = request_backfill(settings, instance, days)
    per_run = settings.backfill_max_partitions_per_run
    print(f"Requested backfill {backfill_id} of {first}...{last} ({'one run' if per_run is None else f'runs of at most {per_run} days'}); the daemon launches it.")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    """Shell lines that point Dagster's own CLI at the local instance (``eval "$(reporting-admin env)"``)."""
    from .instance import prepare_dagster_home

    for name, value in prepare_dagster_home(_settings()).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from .access import create_user_command
    from ..warehouse.database import resolve_database_url

    settings = _settings()
    print(create_user_command(resolve_database_url(settings.database_url, settings.home), args.name, args.role))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ..api.server import serve

    serve(_settings(), host=args.host, port=args.port, workers=args.workers)
    return 0


def cmd_create_api_user(args: argparse.Namespace) -> int:
    from ..api.accounts import save_api_user
    from ..credentials import read_new_password
    from ..warehouse.database import resolve_database_url

    settings = _settings()
    created = save_api_user(resolve_database_url(settings.database_url, settings.home), args.name, args.role, read_new_password(optional=args.disable), disabled=args.disable)
    print(f"{'Created' if created else 'Updated'} API user {args.name} with role {args.role}" + (" (disabled)." if args.disable else "."))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reporting-admin", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("init-db", help="create or upgrade the reporting schema (idempotent)").set_defaults(func=cmd_init_db)

    sample = sub.add_parser("sample-data", help="write a sample clinic billing SQLite database with fake patients")
    sample.add_argument("--patients", type=int, default=2_000)
    sample.add_argument("--payments", type=int, default=20_000)
    sample.add_argument("--days", type=int, default=120, help="length of the date range, ending today")
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument("--messy", action="store_true", help="add every quirk of real application data")
    sample.add_argument("--out", help="output path (default: $REPORTING_HOME/sample/clinic.db)")
    sample.add_argument("--overwrite", action="store_true")
    sample.set_defaults(func=cmd_sample_data)

    quick = sub.add_parser("quickstart", help="run every reporting asset once over the source's dates and print a summary")
    quick.add_argument("--days", type=int, default=None, help="only the last N days (default: the whole date range of the source)")
    quick.set_defaults(func=cmd_quickstart)

    sub.add_parser("summary", help="rows per table, revenue of the last 7 days, quarantined rows").set_defaults(func=cmd_summary)

    url = sub.add_parser("db-url", help="print the reporting database URL (for psql and BI tools)")
    url.add_argument("--show-password", action="store_true")
    url.add_argument("--sqlalchemy", action="store_true", help="print the postgresql+psycopg2:// form dagster.yaml storage needs")
    url.set_defaults(func=cmd_db_url)

    user = sub.add_parser("create-user", help="create a login user in a role (password from REPORTING_NEW_USER_PASSWORD or a prompt)")
    user.add_argument("name")
    user.add_argument("--role", required=True, choices=["bi", "auditor", "writer"])
    user.set_defaults(func=cmd_create_user)

    api_user = sub.add_parser("create-api-user", help="create or update a reporting API account (password from REPORTING_NEW_USER_PASSWORD or a prompt)")
    api_user.add_argument("name")
    api_user.add_argument("--role", required=True, choices=["finance", "billing", "auditor", "admin"])
    api_user.add_argument("--disable", action="store_true", help="disable the account: its tokens stop working at once")
    api_user.set_defaults(func=cmd_create_api_user)

    serve = sub.add_parser("serve", help="serve the reporting API and the dashboard (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    backfill = sub.add_parser("backfill", help="backfill the daily facts over FIRST..LAST as the UI does (needs the daemon; runs split by REPORTING_BACKFILL_MAX_PARTITIONS_PER_RUN)")
    backfill.add_argument("first", help="first day, YYYY-MM-DD")
    backfill.add_argument("last", help="last day, YYYY-MM-DD (inclusive)")
    backfill.set_defaults(func=cmd_backfill)

    sub.add_parser("stop-db", help="stop the embedded PostgreSQL").set_defaults(func=cmd_stop_db)

    dev = sub.add_parser("dev", help="start the Dagster UI and daemon on the local instance")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)

    sub.add_parser(
        "env", help="print the environment that points Dagster's own CLI at the local instance: eval \"$(reporting-admin env)\""
    ).set_defaults(func=cmd_env)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", module="pgserver")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"reporting-admin: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
