"""Starting the Streamlit app as a child process pointed at one catalogue."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from atlas.catalog import Catalog, default_blob_url, default_database_url

APP = Path(__file__).resolve().parents[2] / "app" / "main.py"


def app_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]


def app_environment(db_url: str | None, blob_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["ATLAS_DATABASE_URL"] = db_url or default_database_url()
    env["ATLAS_BLOB_URL"] = blob_url or default_blob_url()
    return env


def run_app(db_url: str | None, blob_url: str | None, port: int = 8501) -> int:
    """Check the catalogue opens (a clear error beats a broken page), then serve the app
    until interrupted."""
    Catalog.open(db_url, blob_url).close()
    print(f"Circuit Atlas app: http://127.0.0.1:{port}  (Ctrl-C to stop)", flush=True)
    try:
        return subprocess.call(app_command(port), env=app_environment(db_url, blob_url))
    except KeyboardInterrupt:
        return 0
