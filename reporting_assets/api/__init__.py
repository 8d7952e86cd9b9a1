"""The reporting API (SPEC section 10): FastAPI on uvicorn, role-checked twice and audited on every read."""

from .app import create_app

__all__ = ["create_app"]
