"""Who launched a run, as audit_log.user_id records it (docs/data-model.md, audit_log)."""

import getpass

import dagster as dg


def launched_by(tags: dict[str, str]) -> str:
    """The Dagster user where known, else system:schedule:<name> / system:sensor:<name>."""
    if tags.get("dagster/user"):
        return tags["dagster/user"]
    if tags.get("dagster/schedule_name"):
        return f"system:schedule:{tags['dagster/schedule_name']}"
    if tags.get("dagster/sensor_name"):
        return f"system:sensor:{tags['dagster/sensor_name']}"
    if tags.get("dagster/backfill"):
        return f"system:backfill:{tags['dagster/backfill']}"
    # launched by hand without Dagster authentication: the OS account of the run worker
    try:
        return f"local:{getpass.getuser()}"
    except Exception:  # no passwd entry in some containers
        return "local:unknown"


def run_user(context: dg.AssetExecutionContext) -> str:
    return launched_by(dict(context.run.tags))
