"""Signed connections: the stored set of a layer pair holds every unit's k most
excitatory and k most inhibitory connections (by net mass), not only the k strongest by
norm, so sorting a unit's inputs by sign is complete up to k; attribution edges are signed by
their mean. On the shipped demo model."""

import numpy as np
import pytest
import torch
from signed_demo import DST, SRC, K, conv5_kernel_sums, shipped_demo
from torch.utils.data import TensorDataset

from atlas.compute.connections import attribution_connections, direct_connections


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


def test_attribution_edges_are_signed_by_their_mean_and_net_agrees():
    """Attribution's strength is the signed mean of activation x gradient; its positive and
    negative parts sum to it, so its net mass is the same number and sorts the same way."""
    model, size = shipped_demo()
    images = torch.rand(8, 3, size, size, generator=torch.Generator().manual_seed(0))
    conn = attribution_connections(model, "conv4", "conv5", TensorDataset(images), k=3, batch_size=8)
    net = conn.positive_mass - conn.negative_mass
    np.testing.assert_allclose(net, conn.strength, rtol=1e-3, atol=1e-4 * float(np.abs(conn.strength).max()))
    assert (conn.strength < 0).any() and (conn.strength > 0).any()  # both signs occur on real data
