"""The platform's Dagster Definitions: everything in ``defs/``, built from the settings, with its resources.

Settings are read once (:func:`reporting_assets.settings.load_settings`) and passed in:
``build_definitions(settings)`` loads the defs folder with them, so a test can build the
whole platform for a clinic in another time zone without touching the environment.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg

from .defs.resources import build_resources
from .settings import Settings, load_settings, settings_in_use

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def build_definitions(settings: Settings, *, as_of: dt.date | None = None) -> dg.Definitions:
    """Every asset, check, job, schedule and sensor of ``defs/`` with the resources; ``as_of`` pins the clinic's today."""
    with settings_in_use(settings):
        from_folder = dg.load_from_defs_folder(path_within_project=PROJECT_ROOT)
    return dg.Definitions.merge(from_folder, dg.Definitions(resources=build_resources(settings, as_of=as_of)))


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
