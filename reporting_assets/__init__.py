"""Clinic billing reporting platform: Dagster assets from a billing SQLite database to a de-identified PostgreSQL schema."""

import warnings

import dagster as dg

# BackfillPolicy and observable source assets are stable in use here; their "beta" label is noise for users.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from .definitions import defs  # noqa: E402

__all__ = ["defs"]
