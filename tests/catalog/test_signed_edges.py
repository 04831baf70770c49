"""Signed edges through the catalogue (both dialects): a weight edge's record carries
its net mass next to its norm, and a unit's inputs and outputs sort by either. On the
shipped demo model's real conv4 -> conv5 weights."""

import pytest
from signed_demo import DST, SRC, conv5_kernel_sums, store_shipped_edges

from atlas import Catalog
from atlas.errors import InvalidInput
from atlas.vocabulary import EDGE_SORTS


@pytest.fixture
def unit(catalog: Catalog) -> str:
    return store_shipped_edges(catalog, "demo")


def test_the_record_carries_the_net_mass_and_the_norm(catalog: Catalog, unit: str):
    [edge] = catalog.top_inputs(unit, k=1)
    assert edge.src == f"demo/conv4/{SRC}" and edge.rank == 0
    assert edge.net == pytest.approx(float(conv5_kernel_sums()[DST, SRC]), rel=1e-4)
    assert edge.net < -1.0 < 0 < edge.strength < 1.0
    assert edge.figures == f"net {edge.net:+.3g} · norm {edge.strength:.3g}" and edge.figures.startswith("net -1.")


def test_sorting_by_net_and_by_sign(catalog: Catalog, unit: str):
    sums = conv5_kernel_sums()[DST]
    everything = catalog.top_inputs(unit, k=1000, sort="net")
    nets = [e.net for e in everything]
    assert nets == sorted(nets, reverse=True)  # most excitatory first, most inhibitory last
    assert everything[-1].src == f"demo/conv4/{int(sums.argmin())}"
    assert everything[0].src == f"demo/conv4/{int(sums.argmax())}"
    inhibitory = catalog.top_inputs(unit, k=3, sort="inhibitory")
    assert [e.src for e in inhibitory] == [f"demo/conv4/{int(i)}" for i in sums.argsort()[:3]]
    assert all(e.net < 0 for e in inhibitory)
    excitatory = catalog.top_inputs(unit, k=3, sort="excitatory")
    assert [e.src for e in excitatory] == [f"demo/conv4/{int(i)}" for i in sums.argsort(descending=True)[:3]]
    assert all(e.net > 0 for e in excitatory)
    by_norm = catalog.top_inputs(unit, k=3)
    assert [e.rank for e in by_norm] == [0, 1, 2]
    # Outputs sort the same way: conv4/58's most inhibitory output is its smallest kernel sum.
    outputs = catalog.top_outputs(f"demo/conv4/{SRC}", k=1, sort="inhibitory")
    assert outputs[0].dst == f"demo/conv5/{int(conv5_kernel_sums()[:, SRC].argmin())}"
    assert set(EDGE_SORTS) == {"strength", "net", "excitatory", "inhibitory"}
    with pytest.raises(InvalidInput, match="unknown edge order"):
        catalog.top_inputs(unit, sort="loudest")
