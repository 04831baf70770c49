"""pytest plugin for ``make mutate``: what a mutant's tests cost, and cheapest first.

mutmut runs each mutant against the tests that reach the mutated function, with ``-x``
(the first failing test ends the run), under a time limit computed from those tests'
durations in its statistics run. Two things make that slow or wrong here:

- It times only a test's call, not its setup: our tests spend most of their time in
  fixtures (a fresh database copied from the migrated template, a catalogue filled for a
  bundle test), so its limits are far too tight, and on a busy machine mutants "time
  out" that only waited for the CPU (a time-out counts as caught). In the statistics
  run (``MUTANT_UNDER_TEST=stats``) this adds each test's setup and teardown to its
  recorded duration, in mutmut's own state (``mutmut.state``; mutmut is pinned).
- It passes the tests in no particular order (a set), so a mutant that a 0.1 s test
  kills may first sit through 3 s tests of the same function. In a mutant's run this
  orders them by those durations (``mutmut-stats.json``, in the directory the tests run
  in): a killed mutant costs about its cheapest killing test; a surviving one runs every
  test either way, so no verdict changes.
- Its time limits are ``timeout_multiplier`` × (the tests' time + ``timeout_constant``)
  in wall time (twice that in CPU time), one formula for a mutant that loops and for a
  busy machine: a loop was let run for 4 × (t + 5) s. In a mutant's run this also sets a
  CPU-time limit of 2 × t + 2 s (``RLIMIT_CPU``, which ends the run with ``SIGXCPU``:
  mutmut's "timeout"). CPU time does not grow with the load, and a clean run of those
  tests takes at most t of it (t is their wall time, single-threaded torch), so no
  passing run can reach it; mutmut's wall limit stays as the backstop for a mutant that
  hangs without using the CPU.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

import pytest

STATS = Path("mutmut-stats.json")


def _mutant() -> str:
    return os.environ.get("MUTANT_UNDER_TEST", "")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _mutant() == "stats" and report.when in ("setup", "teardown"):
        from mutmut.state import state

        state().duration_by_test[report.nodeid] += report.duration


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if "__mutmut_" not in _mutant() or not STATS.is_file():
        return
    durations: dict[str, float] = json.loads(STATS.read_text())["duration_by_test"]
    # A test without a recorded duration (none, normally) goes last; ties keep their order.
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))
    if all(item.nodeid in durations for item in items):
        _limit_cpu(sum(durations[item.nodeid] for item in items))


def _limit_cpu(clean_s: float) -> None:
    """End this run once it has spent twice its tests' clean time (and 2 s) of CPU:
    lower than mutmut's own limit where that is higher (as it is, at its 8 × (t + 5))."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    limit = int(time.process_time() + 2 * clean_s + 2) + 1
    if soft == resource.RLIM_INFINITY or limit < soft:
        resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))
