"""The local Dagster instance: DAGSTER_HOME in the state folder, storage in the reporting PostgreSQL."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..settings import Settings
from ..warehouse.database import resolve_database_url

REPO_DAGSTER_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"


def prepare_dagster_home(settings: Settings) -> dict[str, str]:
    """Create DAGSTER_HOME with the repository's dagster.yaml; return the environment to run Dagster with."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_text() != REPO_DAGSTER_YAML.read_text():
        shutil.copyfile(REPO_DAGSTER_YAML, target)
    env = {"DAGSTER_HOME": str(home)}
    if not os.environ.get("REPORTING_DAGSTER_STORAGE_URL"):
        env["REPORTING_DAGSTER_STORAGE_URL"] = resolve_database_url(settings.database_url, settings.home)
    return env
