"""A small generated billing source carried through the Dagster assets into a reporting database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from reporting_assets.source.sample_data import SampleSpec, generate_sample_database
from reporting_assets_tests.conftest import make_resources, materialize_current, materialize_days

# messy: the quarantine on Data health has rows. 150 days up to today (UTC, the clinic's zone
# here), so invoices fall in every aging bucket and the aging's as_of (the day the assets ran)
# is the same day the overdue days are counted from.
SPEC = SampleSpec(patients=300, payments=2_400, days=150, seed=11, messy=True)


@dataclass(frozen=True)
class Warehouse:
    database_url: str
    first_day: dt.date
    last_day: dt.date


def fill_warehouse(database_url: str, folder: Path, spec: SampleSpec = SPEC) -> Warehouse:
    """Generate the source in ``folder`` and materialize the daily assets over its days, then the current ones."""
    summary = generate_sample_database(folder / "billing.db", spec, overwrite=True)
    resources = make_resources(database_url, summary.path, folder / "home", today=summary.last_date)
    materialize_days(resources, summary.first_date.isoformat(), summary.last_date.isoformat())
    materialize_current(resources)
    return Warehouse(database_url, summary.first_date, summary.last_date)
