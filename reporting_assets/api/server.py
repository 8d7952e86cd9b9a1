"""`reporting-admin serve`: the API and dashboard on uvicorn (one process, or N workers)."""

from __future__ import annotations

import uvicorn

from ..settings import Settings, load_settings
from ..warehouse.database import resolve_database_url
from ..warehouse.migrations import ensure_schema
from .app import create_app
from .security import load_secret
from .static import build_dashboard_if_missing


def app_from_environment():
    """Factory uvicorn's workers call: each worker builds its app from the environment."""
    return create_app(load_settings())


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    load_secret(settings)  # fail fast (production without a secret) and create the local one before workers race
    if not settings.database_url:
        ensure_schema(resolve_database_url(None, settings.home))  # the embedded default: start it and bring the schema up
    built = build_dashboard_if_missing()
    if built:
        print(built, flush=True)
    print(f"Reporting API and dashboard on http://{host}:{port} (API reference at /api/docs); Ctrl-C stops it.", flush=True)
    uvicorn.run(
        "reporting_assets.api.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,  # X-Forwarded-* are honoured only from REPORTING_API_TRUSTED_PROXIES, by the app itself
        server_header=False,
        log_level="info",
    )
