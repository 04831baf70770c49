"""The lease heartbeat: a background thread that keeps the running job's lease alive.

A job's lease is what tells other workers "someone is on it". The heartbeat extends it
every lease/3 seconds, so a worker that dies (SIGKILL, power loss, a lost network) stops
extending it and, once it expires, the job is claimed again by another worker. When an
extension updates no row the job is no longer ours (cancelled, or reaped after we could
not reach the database for a whole lease): its ``lost`` event is set so the handler can
stop early. One thread serves all the jobs of a worker: starting a thread per job would
cost more than a no-op job itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from atlas.jobs.records import JobInfo

log = logging.getLogger("atlas.jobs")


class Heartbeat:
    def __init__(self, extend: Callable[[JobInfo], bool], interval_seconds: float):
        self._extend = extend
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._current: tuple[JobInfo, threading.Event] | None = None
        self._thread = threading.Thread(target=self._run, name="atlas-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @contextmanager
    def keeping(self, job: JobInfo) -> Iterator[threading.Event]:
        """Keep ``job``'s lease alive while inside; yields its ``lost`` event."""
        lost = threading.Event()
        with self._lock:
            self._current = (job, lost)
        try:
            yield lost
        finally:
            with self._lock:
                self._current = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                current = self._current
            if current is None:
                continue
            job, lost = current
            try:
                if not self._extend(job):
                    lost.set()
            except Exception as exc:  # noqa: BLE001 - keep beating through outages
                log.warning("heartbeat failed (will retry): %s", str(exc).strip().splitlines()[0])
