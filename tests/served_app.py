"""A Streamlit server started by a test: a free port, waiting until it answers, and the
app served against a catalogue for as long as a test needs it."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atlas.cli.launch import app_command

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, log: Path | None = None) -> None:
    """Return once the server at ``url`` answers its health check; fail with its output
    (from its pipe, or from ``log`` where it writes to a file) if it exits first."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = log.read_text() if log is not None else server.stdout.read()
            raise AssertionError(f"streamlit exited with {server.returncode}: {output}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"streamlit did not become healthy within {STARTUP_SECONDS} s")


@contextmanager
def served_app(db_url: str, blobs: str, log: Path, auth_env: dict[str, str] | None = None) -> Iterator[str]:
    """`streamlit run` of the app on 127.0.0.1 against this catalogue, its output in ``log``;
    yields the base URL. ``auth_env`` sets ATLAS_AUTH and friends (none: the sidebar picker).
    On the way out the server is stopped, and its log must name no deprecated Streamlit
    API (Streamlit logs one on every rerun that calls it)."""
    port = free_port()
    env = {**os.environ, "ATLAS_DATABASE_URL": db_url, "ATLAS_BLOB_URL": blobs}
    env.pop("ATLAS_AUTH", None)
    env.update(auth_env or {})
    with log.open("w") as out:  # a file, not a pipe nobody reads: a full pipe would block the server
        server = subprocess.Popen(app_command(port), env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, server, log)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert "deprecat" not in log.read_text().lower(), log.read_text()[-2000:]
