"""pytest plugin for ``make mutate``: a mutant's run pays for its tests, not for imports.

mutmut forks every mutant's run from a fork server that has imported pytest and collected
the group's tests (``--collect-only``) but run nothing. What the tests import lazily on
first use was then imported again in every mutant's run: ``torch.testing.assert_close``
imports ``torch.distributed.tensor`` and with it sympy (about 1 s of CPU), alembic
its migration machinery, and so on. And pytest ends each run with two full garbage
collections (``gc_collect_harder``), which walked every object the fork server had
made (about 0.25 s), in every run again.

So the statistics run (``MUTANT_UNDER_TEST=stats``, every test of the group, before the
fork server starts) records the third-party and standard-library modules the tests
imported (``mutate-preload.txt``, in the directory the tests run in), and the fork
server's warm-up imports them and then freezes its objects (``gc.freeze``: the
collector of a forked run skips them; they are never garbage). Only modules from outside
the checkout are preloaded: the project's own (``atlas``, the tests) are imported as
collection imports them, so tests that check what is imported when see what they would
in ``make test``. Importing a module runs no test code, and a preload that fails is
skipped: a verdict cannot change, only the time it takes.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from pathlib import Path

import pytest

PRELOAD = Path("mutate-preload.txt")


def _mutant() -> str:
    return os.environ.get("MUTANT_UNDER_TEST", "")


def _outside(checkout: Path, module: object) -> bool:
    """Whether ``module`` was loaded from a file outside ``checkout``."""
    file = getattr(module, "__file__", None)
    return bool(file) and not Path(file).resolve().is_relative_to(checkout)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _mutant() != "stats":
        return
    checkout = session.config.rootpath.resolve().parent  # the tests run in <scratch>/mutants
    names = sorted(name for name, module in list(sys.modules.items())
                   if name != "__main__" and _outside(checkout, module))
    PRELOAD.write_text("\n".join(names) + "\n")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _mutant() or not config.option.collectonly or not PRELOAD.is_file():
        return  # only the fork server's warm-up: a collection with no mutant set
    for name in PRELOAD.read_text().split():
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a module that will not preload is imported when used
                continue
    gc.collect()
    gc.freeze()
