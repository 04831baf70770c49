"""The helpers of ``make mutate`` that decide how long it takes, not what it finds: the
tests that killed a function's mutants run first for its next one, and what several
sessions share is built by one of them."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import built_once

from tools import mutate_timing


def test_a_mutants_tests_start_with_those_that_killed_its_functions_other_mutants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.chdir(tmp_path)
    mutate_timing.STATS.write_text('{"duration_by_test": {"slow": 3.0, "quick": 0.1, "killer": 2.0, "other": 1.0}}')
    mutate_timing.KILLS.write_text("pkg.x_f\tkiller\npkg.x_f\tother\npkg.x_f\tkiller\npkg.x_g\tslow\n")
    monkeypatch.setenv("MUTANT_UNDER_TEST", "pkg.x_f__mutmut_7")
    # ``new`` has no recorded duration, so no CPU limit is set on this process.
    items = [SimpleNamespace(nodeid=name) for name in ["slow", "new", "quick", "other", "killer"]]
    mutate_timing.pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [item.nodeid for item in items] == ["killer", "other", "quick", "slow", "new"]


def test_kills_are_counted_per_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert mutate_timing.kills_by_test("pkg.x_f") == {}
    mutate_timing.KILLS.write_text("pkg.x_f\tone\npkg.x_f_2\ttwo\npkg.x_f\tone\n")
    assert mutate_timing.kills_by_test("pkg.x_f") == {"one": 2}
    assert mutate_timing._function("pkg.xǁCǁm__mutmut_12") == "pkg.xǁCǁm"


def test_what_sessions_share_is_built_once_and_again_after_a_build_cut_short(tmp_path: Path):
    builds: list[int] = []

    def build(folder: Path) -> None:
        builds.append(1)
        time.sleep(0.2)  # the others wait on the lock meanwhile
        (folder / "catalogue.db").write_text("filled")

    found: list[Path] = []
    racers = [threading.Thread(target=lambda: found.append(built_once(tmp_path / "rich", build))) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert len(builds) == 1 and found == [tmp_path / "rich"] * 4
    assert (tmp_path / "rich" / "catalogue.db").read_text() == "filled"

    def cut_short(folder: Path) -> None:
        (folder / "half").write_text("")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        built_once(tmp_path / "other", cut_short)
    built_once(tmp_path / "other", build)
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == [".built", "catalogue.db"]
