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


@pytest.mark.parametrize(("ci", "outcome"), [(None, pytest.skip.Exception), ("1", pytest.fail.Exception)])
def test_a_missing_chromium_skips_or_fails(monkeypatch, tmp_path, ci, outcome):
    """The browser tests' own check (tests/browser.py), with no Chromium where it looks."""
    import browser

    monkeypatch.setattr(browser, "CHROMIUM", (str(tmp_path / "chromium"),))
    monkeypatch.setenv("PATH", str(tmp_path))
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="Chromium is not installed"):
        browser.require_browser()
