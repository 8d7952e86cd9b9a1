"""/api/docs: a self-contained reference page rendered from the OpenAPI schema.

FastAPI's Swagger UI loads its scripts from a CDN, which the Content-Security-Policy
(default-src 'self') forbids and offline sites cannot reach; this page needs no script.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse


def render_reference(schema: dict) -> str:
    sections = []
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            rows = "".join(
                f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p.get('in', ''))}</td>"
                f"<td>{'yes' if p.get('required') else 'no'}</td><td>{escape(p.get('description', '') or p.get('schema', {}).get('description', ''))}</td></tr>"
                for p in operation.get("parameters", [])
            )
            table = f"<table><tr><th>parameter</th><th>in</th><th>required</th><th>meaning</th></tr>{rows}</table>" if rows else ""
            statuses = ", ".join(escape(code) for code in operation.get("responses", {}))
            sections.append(
                f"<section><h2><code>{escape(method.upper())} {escape(path)}</code></h2>"
                f"<p>{escape(operation.get('summary', ''))}</p>{table}<p>Responses: {statuses}</p></section>"
            )
    title = escape(schema.get("info", {}).get("title", "API"))
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}</style></head>"
        f"<body><h1>{title}</h1><p>Machine-readable schema: <a href='/api/openapi.json'>/api/openapi.json</a>. "
        "Sign in with <code>POST /api/v1/auth/token</code>, then send <code>Authorization: Bearer &lt;token&gt;</code>.</p>"
        + "".join(sections)
        + "</body></html>"
    )


def install_docs(app: FastAPI) -> None:
    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(render_reference(app.openapi()))
