"""The dashboard's built files on the same origin: /assets/*, index.html for every other non-API GET."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
DASHBOARD_SOURCE = Path(__file__).resolve().parents[2] / "dashboard"
BUILD_COMMANDS = (["npm", "--prefix", str(DASHBOARD_SOURCE), "ci"], ["npm", "--prefix", str(DASHBOARD_SOURCE), "run", "build"])

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


def build_dashboard_if_missing(static_dir: Path = STATIC_DIR, source: Path = DASHBOARD_SOURCE) -> str | None:
    """Build the dashboard with npm when its files are missing; the sentence to print, or None when built already."""
    if (static_dir / "index.html").is_file():
        return None
    if not (source / "package.json").is_file():
        return f"The dashboard is not built and its source ({source}) is missing; serving the API only."
    if shutil.which("npm") is None:
        return "The dashboard is not built and npm is not installed (Node.js 20 with npm builds it); serving the API only."
    print(f"Building the dashboard once (npm ci and vite build in {source}); this takes about a minute.", flush=True)
    for command in BUILD_COMMANDS:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return f"Building the dashboard failed ({' '.join(command[3:])}: {last[0]}); serving the API only."
    return f"Built the dashboard into {static_dir}."
