"""Starting the Streamlit app as a child process pointed at one catalogue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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
    until interrupted or terminated. The server is a child process: a SIGTERM or SIGINT sent
    to `atlas app` is passed on to it and waited for, so stopping the command (a service
    manager, a container's stop, `kill`) stops the server instead of leaving it serving."""
    Catalog.open(db_url, blob_url).close()
    print(f"Circuit Atlas app: http://127.0.0.1:{port}  (Ctrl-C to stop)", flush=True)
    child = subprocess.Popen(app_command(port), env=app_environment(db_url, blob_url))
    with _passing_on_signals(child) as stopped:
        code = child.wait()
    return 0 if stopped else code


@contextmanager
def _passing_on_signals(child: subprocess.Popen, signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT),
                        ) -> Iterator[list[int]]:
    """While open, SIGTERM and SIGINT are sent on to ``child`` (recorded in the list it
    yields) instead of ending this process before its child."""
    received: list[int] = []

    def pass_on(signum: int, _frame: object) -> None:
        received.append(signum)
        if child.poll() is None:
            child.send_signal(signum)

    previous = {signum: signal.signal(signum, pass_on) for signum in signals}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
