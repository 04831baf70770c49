"""Job progress, written to the job row at most once per interval.

Handlers call ``progress`` in their inner loops, perhaps thousands of times a second; each
write is a database transaction (and on SQLite takes the one write lock), so only the
latest values are kept and written when a second has passed since the last write.
Progress is best effort: a failed write is logged and never fails the job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("atlas.jobs")

# (done, total, message) -> False when the job is no longer ours.
ProgressWriter = Callable[[int, "int | None", "str | None"], bool]


class ThrottledProgress:
    """``clock`` is ``time.monotonic``; a test passes its own to check the throttling
    without betting on how fast a loaded machine runs."""

    def __init__(self, write: ProgressWriter, interval_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self._write = write
        self._interval = interval_seconds
        self._clock = clock
        self._last_write = float("-inf")
        self._pending: tuple[int, int | None, str | None] | None = None
        self.lost = False

    def __call__(self, done: int, total: int | None = None, message: str | None = None) -> None:
        self._pending = (done, total, message)
        if self._clock() - self._last_write >= self._interval:
            self.flush()

    def flush(self) -> None:
        """Write the latest unwritten values now, if any."""
        if self._pending is None:
            return
        values, self._pending = self._pending, None
        self._last_write = self._clock()
        try:
            self.lost = not self._write(*values) or self.lost
        except Exception as exc:  # noqa: BLE001 - progress is best effort
            log.warning("progress not saved: %s", str(exc).strip().splitlines()[0])
