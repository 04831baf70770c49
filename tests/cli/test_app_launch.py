"""`atlas app` serves Streamlit as a child process and stops it when it is told to stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from served_app import free_port, wait_healthy
from waiting import wait_until

from atlas import Catalog

pytestmark = pytest.mark.slow


def _serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_atlas_app_stops_its_server(tmp_path: Path, stop: signal.Signals):
    """A service manager stops `atlas app` with SIGTERM: the Streamlit child it started must
    stop with it (it used to keep serving after its parent had gone)."""
    db, blobs = f"sqlite:///{tmp_path / 'atlas.db'}", str(tmp_path / "blobs")
    Catalog.init(db, blobs, admin="alice").close()
    port = free_port()
    command = [sys.executable, "-m", "atlas.cli", "--db", db, "--blobs", blobs, "app", "--port", str(port)]
    app = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, app)
        app.send_signal(stop)
        assert app.wait(timeout=30) == 0
        wait_until(lambda: not _serving(base), timeout=30, message="the Streamlit server to stop")
        assert "Traceback" not in app.stdout.read()
    finally:
        if app.poll() is None:
            app.kill()
