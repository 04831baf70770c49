"""Signed connections: the stored set of a layer pair holds every unit's k most
excitatory and k most inhibitory connections (by net mass), not only the k strongest by
norm, so sorting a unit's inputs by sign is complete up to k. On the shipped demo model."""

import numpy as np
import pytest
from signed_demo import DST, SRC, K, conv5_kernel_sums, shipped_demo

from atlas.compute.connections import direct_connections


@pytest.fixture(scope="module")
def conv4_conv5():
    model, size = shipped_demo()
    return direct_connections(model, "conv4", "conv5", k=K, input_size=size)


def test_the_issues_example_edge_is_inhibitory_with_a_positive_norm(conv4_conv5):
    conn = conv4_conv5
    [i] = np.flatnonzero((conn.src == SRC) & (conn.dst == DST))
    net = float(conn.positive_mass[i] - conn.negative_mass[i])
    assert net == pytest.approx(float(conv5_kernel_sums()[DST, SRC]), rel=1e-5)
    assert net < -1.0 and conn.strength[i] > 0  # the norm has no sign; the net mass does
    assert conn.rank_in[i] == 0  # conv5/21's strongest input by norm


def test_every_units_most_excitatory_and_inhibitory_are_kept(conv4_conv5):
    conn = conv4_conv5
    sums = conv5_kernel_sums().numpy()
    kept = set(zip(conn.dst.tolist(), conn.src.tolist()))
    order = np.argsort(sums, axis=1, kind="stable")
    for dst in range(sums.shape[0]):
        most_inhibitory, most_excitatory = order[dst, :K], order[dst, ::-1][:K]
        assert {(dst, int(s)) for s in (*most_inhibitory, *most_excitatory)} <= kept
    by_source = np.argsort(sums, axis=0, kind="stable")
    for src in range(sums.shape[1]):
        assert {(int(d), src) for d in (*by_source[:K, src], *by_source[::-1][:K, src])} <= kept
    # Those are more than the top k by norm alone (which would be at most 2 * 64 * K).
    by_norm = int(((conn.rank_in < K) | (conn.rank_out < K)).sum())
    assert len(conn) > by_norm
