"""Connections: expanded weights against analytic compositions, direct weights against the
convolutions they come from, top-k selection, attribution, and storage in the catalogue."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from atlas import Catalog
from atlas.catalog.edge_store import kernel_from_table
from atlas.compute.connections import (
    attribution_connections,
    direct_connections,
    expanded_connections,
    pair_chunk,
    rank_chunks,
    store_chunk,
    store_connections,
)
from atlas.compute.connections.linear import Linearized, expanded_kernels, smallest_window
from atlas.compute.connections.operating_point import cached_operating_points, default_dataset
from atlas.compute.models.demo_cnn import DemoCNN
from atlas.compute.models.inceptionv1 import InceptionV1
from atlas.db.blobs import BlobStore
from atlas.errors import InvalidInput


class ThreeConvs(nn.Module):
    """Layers ``a``, ``b``, ``c``; nothing nonlinear between ``a`` and ``c``."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 5, 3, padding=1)
        self.c = nn.Conv2d(5, 6, 5, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(self.b(F.relu(self.a(x))))


def compose(outer: torch.Tensor, inner: torch.Tensor) -> torch.Tensor:
    """Kernel of ``outer`` after ``inner`` (cross-correlations): E[p] = sum_q O[q] I[p - q]."""
    o, i = outer.shape[2], inner.shape[2]
    out = torch.zeros(outer.shape[0], inner.shape[1], o + i - 1, o + i - 1, dtype=torch.float64)
    for a in range(o):
        for b in range(o):
            out[:, :, a:a + i, b:b + i] += torch.einsum(
                "um,mc...->uc...", outer[:, :, a, b].double(), inner.double()
            )
    return out


@pytest.fixture(scope="module")
def inception() -> InceptionV1:
    torch.manual_seed(0)
    return InceptionV1().eval()


def test_expanded_two_convs_is_the_analytic_composition():
    torch.manual_seed(0)
    model = ThreeConvs().eval()
    kernels = expanded_kernels(model, "a", "c", input_size=32, batch_units=4)
    expected = compose(model.c.weight.detach(), model.b.weight.detach())
    assert kernels.shape == expected.shape == (6, 4, 7, 7)
    torch.testing.assert_close(kernels.double(), expected, rtol=1e-4, atol=1e-6)


def test_expanded_inception_3x3_branch_is_bottleneck_times_3x3(inception: InceptionV1):
    units = torch.tensor([128, 200, 319])  # mixed3b's 3x3 branch is channels 128..319
    kernels = expanded_kernels(inception, "mixed3a", "mixed3b", input_size=64, units=units)
    w1 = inception.mixed3b_3x3_bottleneck_pre_relu_conv.weight.detach()[:, :, 0, 0]
    w3 = inception.mixed3b_3x3_pre_relu_conv.weight.detach()[units - 128]
    manual = torch.einsum("umij,mc->ucij", w3, w1)
    assert kernels.shape == (3, 256, 5, 5)  # the block's field is the 5x5 branch's
    torch.testing.assert_close(kernels[:, :, 1:4, 1:4], manual, rtol=1e-4, atol=1e-5)
    assert kernels[:, :, 0].abs().max() == 0 and kernels[:, :, :, 4].abs().max() == 0


class ConvPoolConv(nn.Module):
    """Layers ``a`` and ``c`` with ReLU, a 3x3 stride-2 ``pool`` and ReLU between them."""

    def __init__(self, pool: nn.Module) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = pool
        self.c = nn.Conv2d(4, 5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(F.relu(self.pool(F.relu(self.a(x)))))


def through_average_pool(outer: torch.Tensor, k: int, stride: int) -> torch.Tensor:
    """Kernel of ``outer`` after a k x k average pool of ``stride``: the pool is a conv with
    a constant 1/k^2 kernel per channel, so tap (i, j) of ``outer`` spreads over the k x k
    window at (stride*i, stride*j)."""
    size = (outer.shape[2] - 1) * stride + k
    out = torch.zeros(*outer.shape[:2], size, size, dtype=torch.float64)
    for i in range(outer.shape[2]):
        for j in range(outer.shape[3]):
            out[:, :, stride * i:stride * i + k, stride * j:stride * j + k] += (
                outer[:, :, i, j, None, None].double() / k**2)
    return out


def test_expanded_through_a_max_pool_is_through_an_average_pool():
    """The linearized path replaces max-pool by average-pool (same window and stride)."""
    torch.manual_seed(5)
    max_model = ConvPoolConv(nn.MaxPool2d(3, stride=2)).eval()
    avg_model = ConvPoolConv(nn.AvgPool2d(3, stride=2)).eval()
    avg_model.load_state_dict(max_model.state_dict())
    expected = through_average_pool(max_model.c.weight.detach(), 3, 2)
    for model in (max_model, avg_model):
        kernels = expanded_kernels(model, "a", "c", input_size=32)
        assert kernels.shape == expected.shape == (5, 4, 7, 7)
        torch.testing.assert_close(kernels.double(), expected, rtol=1e-4, atol=1e-6)


def test_expanded_inception_pool_branch_is_a_3x3_average_times_its_1x1(inception: InceptionV1):
    units = torch.tensor([416, 450, 479])  # mixed3b's pool branch is channels 416..479
    kernels = expanded_kernels(inception, "mixed3a", "mixed3b", input_size=64, units=units)
    w1 = inception.mixed3b_pool_reduce_pre_relu_conv.weight.detach()[units - 416]
    manual = through_average_pool(w1, 3, 1)  # the 3x3 stride-1 max-pool, then the 1x1 conv
    assert kernels.shape == (3, 256, 5, 5)  # the block's field is the 5x5 branch's
    torch.testing.assert_close(kernels[:, :, 1:4, 1:4].double(), manual, rtol=1e-4, atol=1e-6)
    assert kernels[:, :, 0].abs().max() == 0 and kernels[:, :, :, 4].abs().max() == 0


class ConvsAroundLRN(ThreeConvs):
    """ThreeConvs with local response normalization between ``b`` and ``c``."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LocalResponseNorm(3, alpha=1e-2, beta=0.75, k=2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(self.norm(self.b(F.relu(self.a(x)))))


def test_expanded_through_lrn_is_through_its_jacobian_at_the_mean_activations():
    """Between ``b`` and ``c`` the LRN is linearized at its mean input over the default
    dataset: the expanded kernel is ``c`` after the Jacobian there after ``b``, not ``c``
    after ``b`` (with k=2 the LRN's own scale is about 2^-0.75, far from the identity)."""
    torch.manual_seed(6)
    model = ConvsAroundLRN().eval()
    kernels = expanded_kernels(model, "a", "c", input_size=32)
    (point,) = cached_operating_points(model, default_dataset(32))
    inner = torch.einsum("cm,mi...->ci...", point.jacobian.double(), model.b.weight.detach().double())
    expected = compose(model.c.weight.detach(), inner)
    assert kernels.shape == expected.shape == (6, 4, 7, 7)
    torch.testing.assert_close(kernels.double(), expected, rtol=1e-4, atol=1e-6)
    as_identity = compose(model.c.weight.detach(), model.b.weight.detach())
    assert (kernels.double() - as_identity).norm() > 0.2 * as_identity.norm()


class TwoLRNs(nn.Module):
    """``a``, an LRN, a 1x1 ``b``, another LRN with other constants, a 1x1 ``c``."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 5, 1)
        self.c = nn.Conv2d(5, 6, 1)
        self.norm1 = nn.LocalResponseNorm(3, alpha=1e-2, beta=0.75, k=2.0)
        self.norm2 = nn.LocalResponseNorm(3, alpha=5e-2, beta=0.5, k=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(self.norm2(self.b(self.norm1(F.relu(self.a(x))))))


def test_expanded_through_two_lrns_uses_each_ones_own_operating_point():
    """From ``a`` to ``c``: ``c`` after the second LRN's Jacobian after ``b`` after the
    first's, each at its own mean input (in call order)."""
    torch.manual_seed(8)
    model = TwoLRNs().eval()
    kernels = expanded_kernels(model, "a", "c", input_size=16)
    first, second = cached_operating_points(model, default_dataset(16))
    expected = torch.einsum("oc,cm,mi,ij->oj", model.c.weight.detach()[:, :, 0, 0], second.jacobian,
                            model.b.weight.detach()[:, :, 0, 0], first.jacobian)
    assert kernels.shape == (6, 4, 1, 1)
    torch.testing.assert_close(kernels[:, :, 0, 0], expected, rtol=1e-4, atol=1e-6)


def test_a_pass_running_more_lrns_than_it_has_operating_points_is_refused():
    model = TwoLRNs().eval()
    first, _second = cached_operating_points(model, default_dataset(16))
    with pytest.raises(InvalidInput, match="^the model ran more local response normalizations than it has "
                                           "operating points$"):
        with Linearized([first]):
            model(torch.zeros(1, 3, 8, 8))


def test_direct_weights_follow_branches_and_concat_slices(inception: InceptionV1):
    conn = direct_connections(inception, "mixed3b_3x3_bottleneck", "mixed3b", k=3, input_size=64)
    assert set(np.unique(conn.dst)) == set(range(128, 320))
    w3 = inception.mixed3b_3x3_pre_relu_conv.weight.detach()
    for i in range(0, len(conn), 97):
        expected = w3[conn.dst[i] - 128, conn.src[i]].half().numpy()
        np.testing.assert_array_equal(conn.kernels[i], expected)
        assert conn.strength[i] == pytest.approx(float(w3[conn.dst[i] - 128, conn.src[i]].norm()), rel=1e-5)
    # A conv reading a slice of a concatenation: mixed3a's 3x3 branch is its channels 64..191.
    sliced = direct_connections(inception, "mixed3a_3x3", "mixed3b_1x1", k=2, input_size=64)
    w1 = inception.mixed3b_1x1_pre_relu_conv.weight.detach()
    i = 0
    expected = float(w1[sliced.dst[i], 64 + sliced.src[i]].abs().sum())
    assert float(sliced.strength[i]) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(InvalidInput, match="expanded"):
        direct_connections(inception, "mixed3a", "mixed3b_3x3", input_size=64)


def test_direct_weights_in_chunks_keep_only_connected_pairs(inception: InceptionV1, tmp_path):
    """mixed3b's 3x3 branch (units 128..319) is the only part that reads the bottleneck:
    ranking chunks must keep the connected mask, or unconnected pairs would be kept."""
    blobs = BlobStore(str(tmp_path / "blobs"))
    src, dst = "mixed3b_3x3_bottleneck", "mixed3b"
    stored = [store_chunk(blobs, pair_chunk(inception, "direct", src, dst, range(start, min(start + 100, 480)), 64), 3)
              for start in range(0, 480, 100)]
    conn, shas = rank_chunks(blobs, src, dst, "direct", 3, 480, stored)
    whole = direct_connections(inception, src, dst, k=3, input_size=64)
    assert set(np.unique(conn.dst)) == set(range(128, 320))
    for name in ("src", "dst", "rank_in", "rank_out"):
        np.testing.assert_array_equal(getattr(conn, name), getattr(whole, name))
    i = len(conn) // 2
    table = blobs.get_array(shas[i].decode())
    np.testing.assert_array_equal(kernel_from_table(table, int(conn.src[i])), whole.kernels[i])


def test_top_k_keeps_every_units_strongest_inputs_and_outputs():
    torch.manual_seed(1)
    model = DemoCNN((8, 16, 32, 32, 32)).eval()
    conn = direct_connections(model, "conv2", "conv3", k=4, input_size=64)
    w = model.conv3.weight.detach().flatten(2).norm(dim=2).numpy()
    for unit in range(32):
        mine = conn.rank_in[conn.dst == unit]
        assert set(range(4)) <= set(mine.tolist())
        best = conn.src[(conn.dst == unit) & (conn.rank_in == 0)][0]
        assert best == int(np.argmax(w[unit]))
    for src in range(16):
        assert set(range(4)) <= set(conn.rank_out[conn.src == src].tolist())
    positive = model.conv3.weight.detach().clamp(min=0).sum((2, 3)).numpy()
    np.testing.assert_allclose(conn.positive_mass, positive[conn.dst, conn.src], rtol=1e-5)


class _Images(torch.utils.data.Dataset):
    def __init__(self, n: int, size: int = 16):
        self.images = torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(3))

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i], i


def test_attribution_is_complete_on_a_linear_path():
    torch.manual_seed(2)
    model = ThreeConvs().eval()
    data = _Images(6)
    conn = attribution_connections(model, "a", "c", data, k=4, batch_size=4)
    with torch.no_grad():
        a = F.relu(model.a(data.images))
        y = model.c(model.b(a)) - model.c(model.b(torch.zeros_like(a)))
    totals = y.sum((2, 3)).mean(0)
    # k = all 4 inputs: every pair is kept, and a linear map's attributions sum to its output.
    sums = np.zeros(6)
    np.add.at(sums, conn.dst, conn.strength)
    np.testing.assert_allclose(sums, totals.numpy(), rtol=1e-3, atol=1e-3)
    assert len(conn) == 24 and conn.kernels is None


def test_store_connections_and_read_top_inputs(demo_catalog: Catalog):
    torch.manual_seed(4)
    model = DemoCNN((8, 16, 32, 32, 32)).eval()
    conn = direct_connections(model, "conv2", "conv3", k=3, input_size=64)
    assert store_connections(demo_catalog, "demo", conn) == len(conn)
    assert store_connections(demo_catalog, "demo", conn) == 0  # idempotent
    top = demo_catalog.top_inputs("demo/conv3/5", k=3, kind="direct")
    assert [e.rank for e in top] == [0, 1, 2]
    assert top[0].strength >= top[1].strength >= top[2].strength
    src = int(top[0].src.rsplit("/", 1)[1])
    kernel = demo_catalog.edge_kernel(top[0])
    np.testing.assert_array_equal(kernel, model.conv3.weight.detach()[5, src].half().numpy())
    outputs = demo_catalog.top_outputs("demo/conv2/0", k=3, kind="direct")
    assert [e.rank for e in outputs] == [0, 1, 2]
    expanded = expanded_connections(model, "conv1", "conv3", k=2, input_size=64)
    assert store_connections(demo_catalog, "demo", expanded) == len(expanded)
    assert demo_catalog.top_inputs("demo/conv3/0", k=2, kind="expanded")[0].kernel_sha256
    assert store_connections(demo_catalog, "demo", conn, replace=True) == len(conn)


# The linearized mode itself: each rewritten call against the linear call it stands for.
POOLS = [
    # (max-pool call, input shape, the average pool it must become)
    # 8 pixels, 3x3 stride 2 with padding 1: ceil mode gives 5 outputs, floor mode 4.
    (lambda x: F.max_pool2d(x, 3, 2, 1, 1, True), (2, 3, 8, 8), lambda x: F.avg_pool2d(x, 3, 2, 1, True)),
    (lambda x: F.max_pool2d(x, kernel_size=2), (1, 2, 6, 6), lambda x: F.avg_pool2d(x, 2, 2)),
    (lambda x: F.max_pool2d(x, 3, 1, dilation=(1, 1)), (1, 2, 6, 6), lambda x: F.avg_pool2d(x, 3, 1)),
    (lambda x: F.max_pool2d(x, 3, 1, dilation=[1, 1]), (1, 2, 6, 6), lambda x: F.avg_pool2d(x, 3, 1)),
    (lambda x: F.max_pool1d(x, 2), (1, 2, 8), lambda x: F.avg_pool1d(x, 2)),
    (lambda x: F.max_pool3d(x, 2, 2, 1), (1, 2, 4, 4, 4), lambda x: F.avg_pool3d(x, 2, 2, 1)),
]


@pytest.mark.parametrize("max_pool,shape,avg_pool", POOLS)
def test_linearized_max_pool_is_the_average_pool_of_the_same_window(max_pool, shape, avg_pool):
    """Padding, ceil mode, a default stride and 1-d/3-d pools carry over to the average pool."""
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    with Linearized():
        got = max_pool(x)
    torch.testing.assert_close(got, avg_pool(x))


@pytest.mark.parametrize("call,message", [
    (lambda x: F.max_pool2d(x, 3, 1, 0, 2), "dilated max-pool"),
    (lambda x: F.max_pool2d(x, 3, 1, dilation=(1, 2)), "dilated max-pool"),
    (lambda x: F.max_pool2d(x, 3, return_indices=True), "max-pool returning indices"),
    (lambda x: nn.MaxPool1d(2, return_indices=True)(x[0]), "max-pool returning indices"),
])
def test_linearized_refuses_max_pools_it_cannot_average(call, message):
    """A dilated window or returned indices have no average-pool equivalent: refused, not
    silently left nonlinear."""
    with Linearized(), pytest.raises(InvalidInput, match=f"cannot linearize a {message}"):
        call(torch.zeros(1, 1, 8, 8))


def test_linearized_padding_with_minus_infinity_pads_zeros():
    """Max-pools padded by hand (F.pad with -inf, as TF-ported models do) must pad zeros,
    or the average would be -inf; other padding is left alone."""
    x = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    with Linearized():
        positional = F.pad(x, (0, 1, 0, 1), "constant", float("-inf"))
        keyword = F.pad(x, (1, 0, 1, 0), value=float("-inf"))
        finite = F.pad(x, (1, 1, 1, 1), value=2.0)
        plain = F.pad(x, (1, 1))
    torch.testing.assert_close(positional, F.pad(x, (0, 1, 0, 1)))
    torch.testing.assert_close(keyword, F.pad(x, (1, 0, 1, 0)))
    torch.testing.assert_close(finite, F.pad(x, (1, 1, 1, 1), value=2.0))
    torch.testing.assert_close(plain, F.pad(x, (1, 1)))


class BypassConcat(nn.Module):
    """``a`` and a bypass conv ``b`` on the same input, concatenated (channels a then b) and
    read by the 3x3 conv ``c``."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 2, 1)
        self.c = nn.Conv2d(6, 5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(torch.cat([F.relu(self.a(x)), F.relu(self.b(x))], dim=1))


def test_expanded_across_a_concatenation_with_a_bypass_is_the_slice_of_the_reading_conv():
    """The bypass path runs once (batch 1) and is broadcast to the batch of L2 units where
    it meets L1 at the concatenation; the kernels are c's weights on a's channels."""
    torch.manual_seed(7)
    model = BypassConcat().eval()
    kernels = expanded_kernels(model, "a", "c", input_size=16, batch_units=3)
    torch.testing.assert_close(kernels, model.c.weight.detach()[:, :4])
    x = torch.randn(2, 3, 4, 4)
    with Linearized():  # a concatenation of equal batches, on the default dimension
        torch.testing.assert_close(torch.cat([x, 2 * x]), torch.cat([x, 2 * x], 0))


class TwoConvs(nn.Module):
    """``a`` then ``c`` with any kernel shapes and input channels, no padding."""

    def __init__(self, inner: tuple[int, int], outer: tuple[int, int], channels: int = 3) -> None:
        super().__init__()
        self.a = nn.Conv2d(channels, 4, inner)
        self.c = nn.Conv2d(4, 5, outer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(F.relu(self.a(x)))


@pytest.mark.parametrize("outer,smallest", [((3, 3), 8), ((10, 10), 12), ((3, 5), 8)])
def test_smallest_window_is_the_smallest_input_whose_l1_map_holds_the_field(outer, smallest):
    """``a``'s 3x3 conv shrinks the input by 2, so L1 holds c's whole kernel from an input
    of kernel + 2 (bisection starts at 8); the kernels are c's own, also when not square."""
    torch.manual_seed(8)
    model = TwoConvs((3, 3), outer).eval()
    window = smallest_window(model, "a", "c", 32)
    assert window.size == (smallest, smallest)
    assert window.kernel_shape == outer
    torch.testing.assert_close(expanded_kernels(model, "a", "c", 32), model.c.weight.detach())


def test_expanded_weights_of_a_one_channel_model():
    """The blank image has the first conv's input channels (not always RGB)."""
    torch.manual_seed(9)
    model = TwoConvs((3, 3), (3, 3), channels=1).eval()
    torch.testing.assert_close(expanded_kernels(model, "a", "c", 16), model.c.weight.detach())


class Forked(nn.Module):
    """Two branches ``a`` and ``b`` on the input, ``head`` a linear layer after ``a``,
    and ``spare`` a layer that never runs."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3)
        self.b = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, 2)
        self.spare = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.a(x).mean((2, 3))) + self.b(x).mean((1, 2, 3))[:, None]


@pytest.mark.parametrize("src,dst,message", [
    ("a", "b", "b does not depend on a"),
    ("b", "a", "layer a runs before b"),
    ("a", "spare", "layer spare did not run after a"),
    ("a", "head", "expanded weights need 2-d maps in a and head"),
    ("a", "nowhere", "model has no layer named nowhere"),
    ("", "b", "^expanded weights need two named layers, not the whole model$"),
    ("a", "", "^expanded weights need two named layers, not the whole model$"),
])
def test_expanded_weights_refuse_pairs_without_a_2d_path(src, dst, message):
    with pytest.raises(InvalidInput, match=message):
        expanded_kernels(Forked().eval(), src, dst, 16)


class SharedFirstLayer(nn.Module):
    """``a`` runs twice (one module, shared weights), then ``b``."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 3, 3, padding=1)
        self.b = nn.Conv2d(3, 5, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(F.relu(self.a(F.relu(self.a(x)))))


def test_expanded_weights_from_a_layer_that_runs_twice_start_at_its_last_call():
    """Which call of ``a`` is meant would be ambiguous; its last call is what ``b`` reads,
    so the expanded weights are ``b``'s own kernels."""
    torch.manual_seed(7)
    model = SharedFirstLayer().eval()
    torch.testing.assert_close(expanded_kernels(model, "a", "b", 16), model.b.weight.detach())


def test_expanded_weights_of_a_model_without_convolutions_assume_rgb():
    """With no conv to read the input channels from, the blank image is RGB: two 2x2
    average pools compose to a 2x2 average per channel (in the second pool's input)."""
    model = nn.Sequential(nn.AvgPool2d(2), nn.AvgPool2d(2)).eval()
    expected = torch.eye(3)[:, :, None, None].expand(3, 3, 2, 2) / 4
    torch.testing.assert_close(expanded_kernels(model, "0", "1", 16), expected)


def test_expanded_weights_report_progress_per_batch_and_name_bad_units():
    torch.manual_seed(10)
    model = TwoConvs((3, 3), (3, 3)).eval()
    calls = []
    expanded_kernels(model, "a", "c", 16, batch_units=2, progress=lambda *call: calls.append(call))
    assert calls == [(2, 5, "a -> c"), (4, 5, "a -> c"), (5, 5, "a -> c")]
    with pytest.raises(InvalidInput, match=r"units outside c \(0 to 4\)"):
        expanded_kernels(model, "a", "c", 16, units=[5])
