"""The FastAPI application: reports under /api/v1, health probes, the reference page and the dashboard."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from ..settings import Settings
from ..warehouse.database import resolve_database_url
from .docs_page import install_docs
from .errors import install_error_handlers
from .middleware import SecurityHeaders
from .models import ParameterProblem, Problem
from .pool import ConnectionPool
from .routes import audit, auth, etl, health, outstanding, payments, revenue
from .security import TokenIssuer, load_secret
from .static import install_dashboard

ERROR_RESPONSES = {
    401: {"model": Problem, "description": "Missing, expired or invalid token"},
    403: {"model": Problem, "description": "The role may not read this report"},
    422: {"model": ParameterProblem, "description": "A parameter is malformed or out of range"},
    503: {"model": Problem, "description": "The reporting database is unavailable"},
}


def create_app(settings: Settings, *, pool_size: int = 10) -> FastAPI:
    """The API for ``settings`` (database, secret, proxies, CORS); nothing connects until the first request."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.pool.clear()  # close idle connections when the worker stops

    app = FastAPI(
        lifespan=lifespan,
        title="Clinic billing reporting API",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI loads from a CDN; /api/docs is served by docs_page instead
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.tokens = TokenIssuer(load_secret(settings), settings.api_token_minutes)
    app.state.pool = ConnectionPool(resolve_database_url(settings.database_url, settings.home), size=pool_size)

    install_error_handlers(app)
    for module in (auth, revenue, outstanding, payments, etl, audit):
        app.include_router(module.router, prefix="/api/v1", responses=ERROR_RESPONSES)
    app.include_router(health.router)
    install_docs(app)
    install_dashboard(app)  # last: its catch-all route must not shadow the API

    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api_cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(SecurityHeaders)
    return app
