"""Clinic billing reporting platform: Dagster assets from a billing SQLite database to a de-identified PostgreSQL schema."""

from .definitions import defs

__all__ = ["defs"]
