"""Clinic billing reporting platform: Dagster assets from a billing SQLite database to a de-identified PostgreSQL schema.

Layout: ``defs/`` holds the Dagster objects (one folder per domain), loaded by
``definitions.py``; ``source/``, ``staging/``, ``schemas.py`` and ``warehouse/`` are plain
libraries that never import Dagster's definitions; ``admin/`` is the ``reporting-admin`` CLI.
"""

import warnings

import dagster as dg

# BackfillPolicy and observable source assets are stable in use here; their "beta" label is noise for users.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
