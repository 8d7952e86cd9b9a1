"""Liveness (/healthz) and readiness (/readyz: database reachable, schema at the version this code needs)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...warehouse.migrations import available_migrations
from ..deps import pool_of
from ..errors import ApiError
from ..models import Health, Ready

router = APIRouter(tags=["health"])


@router.api_route("/healthz", methods=["GET", "HEAD"], response_model=Health, summary="The process is alive")  # load balancers probe with either
def healthz() -> Health:
    return Health(status="ok")


@router.api_route("/readyz", methods=["GET", "HEAD"], response_model=Ready, summary="The database is reachable and its schema current")
def readyz(request: Request) -> Ready:
    needed = max(migration.version for migration in available_migrations())
    with pool_of(request).connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT max(version) FROM reporting.schema_version")
        version = cur.fetchone()[0] or 0
        conn.rollback()
    if version < needed:
        raise ApiError(503, f"The reporting schema is at version {version} and this API needs {needed}; run `reporting-admin init-db`.")
    return Ready(status="ready", schema_version=version)
