"""A missing requirement skips on a laptop but fails under CI (tests/availability.py)."""

import pytest

from tests.availability import unavailable


def test_missing_requirement_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no browser"):
        unavailable("no browser")


def test_missing_requirement_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="cannot run under CI: no browser"):
        unavailable("no browser")


def test_ci_script_sets_ci_itself():
    from pathlib import Path

    script = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert "\nexport CI=1\n" in script
