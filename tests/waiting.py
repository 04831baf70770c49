"""Waiting for something in a test: poll the condition, never sleep a guessed time.

A fixed sleep is a bet on how fast the machine is: too short on a loaded 2-core machine
(the test fails for nothing), too long everywhere else (the suite crawls). Polling returns
as soon as the condition holds, so the deadline can be generous, and a timeout says what
never happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_SECONDS = 0.05


def wait_until(condition: Callable[[], object], timeout: float = 60.0, message: str = "the condition") -> None:
    """Return once ``condition()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {message}"
        time.sleep(POLL_SECONDS)
