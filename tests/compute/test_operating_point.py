"""Local response normalization linearized at its operating point: the linearized network
is the real network's first order around the dataset's mean activations; the identity is not."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from atlas.compute.connections.linear import Linearized
from atlas.compute.connections.operating_point import cached_operating_points
from atlas.compute.datasets.spec import open_dataset
from atlas.errors import InvalidInput

SPEC = {"kind": "synthetic", "n": 32, "seed": 0, "size": 16}


class AroundLRN(nn.Module):
    """A 1x1 conv, LRN (scaling channels by about 0.4-0.8 at these activations), a 3x3 conv.
    The 1x1 conv maps a one-colour image to one activation vector at every position."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 6, 1)
        self.norm = nn.LocalResponseNorm(3, alpha=1.0, beta=0.75, k=1.0)
        self.c = nn.Conv2d(6, 4, 3, padding=1)
        with torch.no_grad():
            self.a.weight.mul_(4.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(self.norm(self.a(x)))


@pytest.fixture(scope="module")
def model() -> AroundLRN:
    torch.manual_seed(0)
    return AroundLRN().double().eval()


def _linear_change(model: nn.Module, delta: torch.Tensor, lrn) -> torch.Tensor:
    """What the linearized network says a change ``delta`` of the input does (biases cancel)."""
    with torch.no_grad():
        with Linearized(lrn):
            moved = model(delta)
        with Linearized(lrn):
            still = model(torch.zeros_like(delta))
    return moved - still


def _relative_error(found: torch.Tensor, expected: torch.Tensor) -> float:
    return float((found - expected).norm() / expected.norm())


def test_linearized_lrn_is_the_first_order_of_the_network_at_the_mean_activations(model: AroundLRN):
    points = cached_operating_points(model, SPEC)
    assert cached_operating_points(model, SPEC) is points  # once per model and dataset
    (point,) = points
    images = torch.stack([image for image, _ in open_dataset(SPEC)]).double()
    # The image of the dataset's mean colour puts the LRN's input at the operating point everywhere.
    start = images.mean(dim=(0, 2, 3)).view(1, 3, 1, 1).expand(1, 3, 16, 16).contiguous()
    with torch.no_grad():
        at_start = model.a(start)
        torch.testing.assert_close(at_start[0, :, 5, 5], point.mean)
        scale = F.local_response_norm(at_start, 3, 1.0, 0.75, 1.0) / at_start
    assert 0.3 < float(scale.min()) and float(scale.max()) < 0.9  # far from the identity
    delta = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    errors = []
    for eps in (1e-3, 5e-4):
        with torch.no_grad():
            real = (model(start + eps * delta) - model(start)) / eps
        errors.append(_relative_error(_linear_change(model, delta, points), real))
        identity = _relative_error(_linear_change(model, delta, None), real)
        assert identity > 0.3, identity
    # First order: the error is the second-order remainder, halving with the step.
    assert errors[0] < 1e-2 and errors[1] < 0.6 * errors[0], errors


def test_the_full_jacobian_beats_its_diagonal(model: AroundLRN):
    """The cross-channel terms matter: dropping them leaves a first-order error."""
    (point,) = cached_operating_points(model, SPEC)
    assert (point.jacobian - torch.diag(point.jacobian.diagonal())).abs().max() > 0.05
    diagonal = type(point)(point.mean, torch.diag(point.jacobian.diagonal()))
    delta = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    full = _linear_change(model, delta, [point])
    assert _relative_error(_linear_change(model, delta, [diagonal]), full) > 0.05


def test_a_model_without_lrn_has_no_operating_points():
    torch.manual_seed(0)
    assert cached_operating_points(nn.Conv2d(3, 2, 3), SPEC) == ()


def test_linearized_refuses_more_lrn_calls_than_operating_points(model: AroundLRN):
    with pytest.raises(InvalidInput, match="more local response normalizations"), Linearized([]):
        model(torch.zeros(1, 3, 8, 8, dtype=torch.float64))
