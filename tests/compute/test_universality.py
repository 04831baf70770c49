"""Universality measured on hand-built models: two tiny conv nets compute the same two
planted features in permuted channel order, next to noise channels (pseudo-random
functions of the image, different in each model). Matching must recover the
permutation, leave the noise without a partner above the threshold, and let a direction
take part; streamed moments must equal the whole data's; CKA must be 1 for identical
layers and near 0 for unrelated ones."""

import numpy as np
import pytest
import torch
from torch import nn

from atlas.compute.models.demo_cnn import DEMO_WIDTHS, untrained_demo
from atlas.compute.universality.analysis import analyse
from atlas.compute.universality.assignment import match, partners_above, redundancy
from atlas.compute.universality.cka import cka_matrix
from atlas.compute.universality.measure import Side, blocks, measure_part
from atlas.compute.universality.moments import Moments

THRESHOLD = 0.5
PART = {"dataset": {"kind": "synthetic", "n": 400, "seed": 3, "size": 32}, "start": 0, "stop": 400}


class Planted(nn.Module):
    """Channel ``order[i]`` computes feature ``i``: 0 the image's brightness, 1 its red
    minus green contrast (both 3x3 box filters, the contrast with ``jitter`` times
    noise added), then ``noise`` channels of Gaussian noise from the model's own
    generator (seeded by ``seed``), which nothing in another model follows."""

    def __init__(self, order: list[int], noise: int, seed: int, jitter: float = 0.0):
        super().__init__()
        self.order, self.noise, self.jitter = order, noise, jitter
        self.generator = torch.Generator().manual_seed(seed)
        self.box = nn.Conv2d(3, 3, 3, padding=1, bias=False)
        nn.init.constant_(self.box.weight, 0.0)
        with torch.no_grad():
            for c in range(3):
                self.box.weight[c, c] = 1 / 9

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r, g, b = self.box(x).unbind(1)
        noise = torch.randn(x.shape[0], self.noise, *x.shape[2:], generator=self.generator)
        planted = [r + g + b, r - g + self.jitter * noise[:, 0] * (r - g).std()]
        channels = [None] * (len(planted) + noise.shape[1])
        for feature, slot in enumerate(self.order):
            channels[slot] = planted[feature]
        rest = iter(noise.unbind(1))
        return torch.stack([c if c is not None else next(rest) for c in channels], dim=1)


class Net(nn.Module):
    def __init__(self, features: Planted):
        super().__init__()
        self.features = features
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(features.noise + 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.act(self.features(x))).flatten(1))


def _sides() -> tuple[Side, Side]:
    a = Net(Planted([0, 1], noise=3, seed=1))  # features at channels 0, 1
    b = Net(Planted([3, 0], noise=3, seed=2, jitter=0.5))  # brightness at 3, contrast at 0
    return Side(a, 32, ["features", "head"], "features"), Side(b, 32, ["features", "head"], "features")


@pytest.fixture(scope="module")
def measured():
    a, b = _sides()
    return measure_part(a, b, PART, "cpu", batch_size=100)


def test_matching_recovers_the_planted_permutation_and_leaves_noise_alone(measured):
    result = analyse(measured, ["features", "head"], ["features", "head"], "features", "features", {}, {})
    assert sorted(result.matches) == ["pooled", "spatial"] and result.images == 400
    for space, matching in result.matches.items():
        strong = {(r, c) for r, c, score in matching.assignment if score >= THRESHOLD}
        assert strong == {(0, 3), (1, 0)}, space
        scores = {(r, c): score for r, c, score in matching.assignment}
        assert scores[(0, 3)] > 0.999 and scores[(1, 0)] > 0.7, (space, scores)
        noise_a, noise_b = (2, 3, 4), (1, 2, 4)
        assert all(score < THRESHOLD for r, _c, score in matching.best_a if r in noise_a), space
        assert all(score < THRESHOLD for c, _r, score in matching.best_b if c in noise_b), space
        assert redundancy(matching.best_a, 5, THRESHOLD).tolist() == [1, 0, 0, 1, 0]
    # The jitter of the contrast channel averages out over positions, not at each one.
    spatial = {(r, c): score for r, c, score in result.matches["spatial"].assignment}
    assert spatial[(1, 0)] < 0.99


def test_a_direction_takes_part_like_a_unit(measured):
    contrast = np.zeros(5)
    contrast[1] = 3.0  # the contrast channel, scaled: a correlation does not see the scale
    mix = np.array([0.0, 0.0, 1.0, 1.0, 1.0])  # noise only
    result = analyse(measured, ["features", "head"], ["features", "head"], "features", "features",
                     {"contrast": contrast, "noise": mix}, {})
    assert result.targets_a == [0, 1, 2, 3, 4, "contrast", "noise"]
    best = {result.targets_a[r]: (result.targets_b[c], score) for r, c, score in result.matches["pooled"].best_a}
    assert best["contrast"][0] == 0 and best["contrast"][1] == pytest.approx(best[1][1])
    assert best["noise"][1] < THRESHOLD


def test_streamed_moments_equal_the_whole_datas(measured):
    rng = np.random.default_rng(0)
    data = rng.normal(5.0, 2.0, size=(1000, 6)) + 1e4  # a large offset: raw sums would lose digits
    whole = Moments.of(torch.from_numpy(data))
    streamed = Moments.empty(6)
    for start in range(0, 1000, 137):
        part = Moments.empty(6)
        part.add(torch.from_numpy(data[start:start + 137]))
        streamed.merge(part)
    assert streamed.n == 1000
    np.testing.assert_allclose(streamed.mean.numpy(), data.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(streamed.comoment.numpy(), np.cov(data.T) * 999, rtol=1e-9)
    np.testing.assert_allclose(whole.comoment.numpy(), streamed.comoment.numpy(), rtol=1e-9)


def test_cka_is_one_for_identical_layers_and_near_zero_for_unrelated_ones():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20_000, 8))
    rotation, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    unrelated = rng.normal(size=(20_000, 8))
    stacked = torch.from_numpy(np.hstack([x, x, 3.0 * x @ rotation, unrelated]))
    _mean, comoment = Moments.of(stacked).arrays()
    cka = cka_matrix(comoment, blocks([8]), blocks([8, 8, 8], 8))
    assert cka[0, 0] == pytest.approx(1.0, abs=1e-12)
    assert cka[0, 1] == pytest.approx(1.0, abs=1e-12)  # invariant to rotation and scale
    assert cka[0, 2] < 0.01


def test_hungarian_assignment_beats_greedy_best_partners():
    corr = np.array([[0.9, 0.8], [0.85, 0.1]])
    matching = match(corr)
    assert sorted((r, c) for r, c, _ in matching.assignment) == [(0, 1), (1, 0)]  # 1.65 > 0.9 + 0.1
    assert [(r, c) for r, c, _ in matching.best_a] == [(0, 0), (1, 0)]
    assert redundancy(matching.best_a, 2, 0.5).tolist() == [2, 0]


def test_partners_above_counts_rows_by_their_best_signed_partner():
    corr = np.array([[0.9, 0.1], [0.5, 0.65], [-0.95, 0.0]])  # row 2's only strong partner is anti-correlated
    assert partners_above(corr, (0.8, 0.6, 0.4, -1.0)) == [1, 2, 2, 3]
    assert partners_above(np.zeros((3, 0)), (0.0,)) == [0]


def test_the_untrained_control_is_the_architecture_at_a_fixed_seed():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first, again, other = untrained_demo("demo-b", 2), untrained_demo("demo-b", 2), untrained_demo("demo-b", 3)
    assert torch.rand(1) == before  # the global random state is left alone
    assert first.widths == DEMO_WIDTHS["demo-b"]
    assert torch.equal(first.conv3.weight, again.conv3.weight)
    assert not torch.equal(first.conv3.weight, other.conv3.weight)
