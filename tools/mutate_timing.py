"""pytest plugin for ``make mutate``: what a mutant's tests cost, and the likely killer first.

mutmut runs each mutant against the tests that reach the mutated function, with ``-x``
(the first failing test ends the run), under a time limit computed from those tests'
durations in its statistics run. Three things make that slow or wrong here:

- It times only a test's call, not its setup: our tests spend most of their time in
  fixtures (a fresh database copied from the migrated template, a catalogue filled for a
  bundle test), so its limits are far too tight, and on a busy machine mutants "time
  out" that only waited for the CPU (a time-out counts as caught). In the statistics
  run (``MUTANT_UNDER_TEST=stats``) this adds each test's setup and teardown to its
  recorded duration, in mutmut's own state (``mutmut.state``; mutmut is pinned).
- It passes the tests in no particular order (a set), so a mutant that one test kills
  may first sit through every other test of the same function. In a mutant's run this
  puts first the tests that killed other mutants of the same function in this run
  (``mutmut-kills.txt``, appended by each run that a test ends), most kills first, and
  orders the rest by those durations (``mutmut-stats.json``): mutants of one function
  mostly fall to the same few tests, so a killed mutant costs about one test. A
  surviving mutant runs every test either way, and a test's verdict does not depend on
  its place (each has its own database): no verdict changes.
- Its time limits are ``timeout_multiplier`` × (the tests' time + ``timeout_constant``)
  in wall time (twice that in CPU time), one formula for a mutant that loops and for a
  busy machine: a loop was let run for 4 × (t + 5) s. In a mutant's run this also sets a
  CPU-time limit of 2 × t + 2 s (``RLIMIT_CPU``, which ends the run with ``SIGXCPU``:
  mutmut's "timeout"). CPU time does not grow with the load, and a clean run of those
  tests takes at most t of it (t is their wall time, single-threaded torch), so no
  passing run can reach it; mutmut's wall limit stays as the backstop for a mutant that
  hangs without using the CPU.

Every mutant's run also appends what it cost to ``mutmut-runs.jsonl`` (its wall
seconds, the tests it ran, whether one failed), which ``tools/mutate.py`` sums per
verdict: where a group's time goes.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

STATS = Path("mutmut-stats.json")
KILLS = Path("mutmut-kills.txt")
RUNS = Path("mutmut-runs.jsonl")



@dataclass
class _Run:
    """This process's mutant run so far (one pytest session)."""

    started: float = field(default_factory=time.monotonic)
    tests: int = 0
    failed: bool = False


_run = _Run()


def _mutant() -> str:
    return os.environ.get("MUTANT_UNDER_TEST", "")


def _in_mutant_run() -> bool:
    return "__mutmut_" in _mutant()


def _function(mutant: str) -> str:
    """The mangled function a mutant belongs to (its name less ``__mutmut_<n>``)."""
    return mutant.rpartition("__mutmut_")[0]


def _append(path: Path, line: str) -> None:
    """One line in one ``write`` on a file opened for appending: the two concurrent
    mutant runs cannot interleave within it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def kills_by_test(function: str) -> Counter[str]:
    """How many mutants of ``function`` each test has killed so far in this run."""
    if not KILLS.is_file():
        return Counter()
    found: Counter[str] = Counter()
    for line in KILLS.read_text().splitlines():
        killed_function, _, test = line.partition("\t")
        if killed_function == function and test:
            found[test] += 1
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    global _run
    _run = _Run()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _mutant() == "stats" and report.when in ("setup", "teardown"):
        from mutmut.state import state

        state().duration_by_test[report.nodeid] += report.duration
    if not _in_mutant_run():
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _run.tests += 1
    if report.failed and not _run.failed:
        _run.failed = True
        _append(KILLS, f"{_function(_mutant())}\t{report.nodeid}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not _in_mutant_run() or not STATS.is_file():
        return
    durations: dict[str, float] = json.loads(STATS.read_text())["duration_by_test"]
    kills = kills_by_test(_function(_mutant()))
    # A test without a recorded duration (none, normally) goes last of its kill count;
    # ties keep their order.
    items.sort(key=lambda item: (-kills[item.nodeid], durations.get(item.nodeid, float("inf"))))
    if all(item.nodeid in durations for item in items):
        _limit_cpu(sum(durations[item.nodeid] for item in items))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _in_mutant_run():
        _append(RUNS, json.dumps({"mutant": _mutant(), "s": round(time.monotonic() - _run.started, 3),
                                  "tests": _run.tests, "failed": _run.failed}))


def _limit_cpu(clean_s: float) -> None:
    """End this run once it has spent twice its tests' clean time (and 2 s) of CPU:
    lower than mutmut's own limit where that is higher (as it is, at its 8 × (t + 5))."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    limit = int(time.process_time() + 2 * clean_s + 2) + 1
    if soft == resource.RLIM_INFINITY or limit < soft:
        resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))
