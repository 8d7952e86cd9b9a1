"""Liveness (/healthz) and readiness (/readyz: database reachable, schema at the version this code needs)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...warehouse.migrations import available_migrations
from ..deps import pool_of
from ..errors import ApiError
from ..models import Health, Ready

router = APIRouter(tags=["health"])


# load balancers probe with GET or HEAD; HEAD stays out of the OpenAPI document, which would
# otherwise give both methods one operation id (FastAPI's "Duplicate Operation ID" warning)
@router.get("/healthz", response_model=Health, summary="The process is alive")
@router.head("/healthz", include_in_schema=False)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, summary="The database is reachable and its schema current")
@router.head("/readyz", include_in_schema=False)
def readyz(request: Request) -> Ready:
    needed = max(migration.version for migration in available_migrations())
    with pool_of(request).connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT max(version) FROM reporting.schema_version")
        version = cur.fetchone()[0] or 0
        conn.rollback()
    if version < needed:
        raise ApiError(503, f"The reporting schema is at version {version} and this API needs {needed}; run `reporting-admin init-db`.")
    return Ready(status="ready", schema_version=version)
