"""The bulk edge load path: COPY / raw executemany, index rebuild for large loads, rollback."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import inspect

from atlas import Catalog
from atlas.catalog import edge_load
from atlas.catalog.edge_store import EdgeColumns
from atlas.catalog.resolve import unit_ids
from atlas.errors import InvalidInput


def _columns(catalog: Catalog, kind: str = "direct") -> EdgeColumns:
    with catalog._reading() as session:
        src = unit_ids(session, "demo/conv2")
        dst = unit_ids(session, "demo/conv3")
    s, d = np.divmod(np.arange(len(src) * len(dst)), len(dst))
    strength = np.linspace(1, 2, len(s))
    return EdgeColumns(src=src[s], dst=dst[d], kind=kind, strength=strength,
                       positive_mass=strength, negative_mass=strength * 0,
                       rank_in=s, rank_out=d, kernel_sha256=np.full(len(s), b"a" * 64, dtype="S64"))


@pytest.mark.parametrize("large", [False, True])
def test_bulk_load_keeps_indexes_and_serves_top_inputs(demo_catalog: Catalog, monkeypatch, large: bool):
    monkeypatch.setattr(edge_load, "SMALL_LOAD", 10)
    monkeypatch.setattr(edge_load, "LARGE_LOAD", 100 if large else 10**9)
    cols = _columns(demo_catalog)
    assert demo_catalog.load_edges(cols) == 16 * 32
    top = demo_catalog.top_inputs("demo/conv3/7", k=3)
    assert [int(e.src.rsplit("/", 1)[1]) for e in top] == [0, 1, 2]
    assert top[0].kernel_sha256 == "a" * 64
    indexes = {ix["name"] for ix in inspect(demo_catalog.engine).get_indexes("edges")}
    assert {"ix_edges_top_inputs", "ix_edges_top_outputs"} <= indexes
    # A duplicate load fails as a whole and leaves the indexes and rows as they were.
    with pytest.raises(InvalidInput, match="already stored"):
        demo_catalog.load_edges(cols)
    assert {ix["name"] for ix in inspect(demo_catalog.engine).get_indexes("edges")} == indexes
    assert len(demo_catalog.top_outputs("demo/conv2/3", k=100)) == 32


def test_bulk_load_refuses_bad_columns(demo_catalog: Catalog):
    cols = _columns(demo_catalog)
    cols.strength = cols.strength.copy()
    cols.strength[3] = np.nan
    with pytest.raises(InvalidInput, match="NaN"):
        demo_catalog.load_edges(cols)
    with pytest.raises(InvalidInput, match="kind"):
        demo_catalog.load_edges(_columns(demo_catalog, kind="telepathy"))
