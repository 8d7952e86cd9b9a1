"""Clinic billing reporting platform: Dagster assets from a billing SQLite database to a de-identified PostgreSQL schema.

``reporting_assets.defs`` is loaded on first access, so ``reporting-admin`` can report a bad
setting in one sentence before any Dagster definition is built.
"""

import warnings

import dagster as dg

# BackfillPolicy and observable source assets are stable in use here; their "beta" label is noise for users.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

__all__ = ["defs"]


def __getattr__(name: str):
    if name == "defs":
        from .definitions import defs

        return defs
    raise AttributeError(f"module 'reporting_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*globals(), "defs"]
