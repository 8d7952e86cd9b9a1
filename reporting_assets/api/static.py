"""The dashboard's built files on the same origin: /assets/*, index.html for every other non-API GET."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reporting dashboard not built</title></head>
<body><h1>The dashboard is not built yet</h1>
<p>Build it once from the repository root, then reload this page:</p>
<pre>npm --prefix dashboard ci &amp;&amp; npm --prefix dashboard run build</pre>
<p>The API itself is running: see <a href="/api/docs">/api/docs</a>.</p></body></html>
"""


def install_dashboard(app: FastAPI, static_dir: Path = STATIC_DIR) -> None:
    assets = static_dir / "assets"
    if assets.is_dir():
        app.mount("/assets", StaticFiles(directory=assets), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    def dashboard(path: str):
        # /api/* never falls back to the dashboard: an unknown API address is a 404
        if path == "api" or path.startswith("api/"):
            raise HTTPException(404)
        index = static_dir / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
