"""pytest plugin for ``make mutate``: forget memoized results before every test.

mutmut records which tests call each function (to run only those on its mutants) and
forks every mutant's run from a process that has already run the clean tests. A
``functools.cache`` (``atlas.jobs.sql.statements`` builds the claim and reap statements
once per process) breaks both: only the first test is seen to call the cached code, and
a mutant's run gets the statements that the unmutated code built, so its mutants are
never exercised and "survive" for the wrong reason.
"""

from __future__ import annotations

import sys

import pytest


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name, module in list(sys.modules.items()):
        if name == "atlas" or name.startswith("atlas."):
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear):
                    clear()
