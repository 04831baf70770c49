"""The one hook mechanism (atlas.compute.hooks.tap): records, stops, always cleans up."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from atlas.compute.hooks import tap
from atlas.errors import InvalidInput


class Explodes(nn.Module):
    """A layer that must never run: it raises if the forward pass reaches it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("the forward pass ran past its stop")


class Shared(nn.Module):
    """One ReLU module called twice in the forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.act(self.conv1(x))) - 0.5)


@pytest.fixture
def net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 1), nn.ReLU())


def _no_hooks(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_outputs_of_several_layers_match_the_plain_forward(net):
    x = torch.rand(2, 3, 8, 8)
    with tap(net, ["0", "2", "3"]) as taps:
        out = net(x)
    torch.testing.assert_close(taps["0"], net[0](x))
    torch.testing.assert_close(taps["2"], net[2](net[1](net[0](x))))
    torch.testing.assert_close(taps["3"], out)
    assert list(taps.outputs) == ["0", "2", "3"] and not taps.stopped
    assert _no_hooks(net)


def test_hooks_are_removed_after_an_error(net):
    with pytest.raises(RuntimeError, match="boom"), tap(net, ["0", "2"], inputs=["2"]):
        raise RuntimeError("boom")
    assert _no_hooks(net)
    with pytest.raises(RuntimeError):  # an error inside the model's own forward
        with tap(net, ["0"], stop_after="2"):
            net(torch.rand(1, 5, 8, 8))  # wrong channel count: conv 0 fails
    assert _no_hooks(net)


def test_early_stop_skips_the_later_modules():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), Explodes())
    with tap(model, ["0"], stop_after="1") as taps:
        model(torch.rand(1, 3, 4, 4))  # stopped after "1": Explodes never runs
    assert taps.stopped and set(taps.outputs) == {"0", "1"}
    with tap(model, ["0", "1"], stop_after=True) as taps:
        assert taps.run(torch.rand(1, 3, 4, 4)) is None
    assert taps.stopped and taps.missing() == []
    assert _no_hooks(model)
    with pytest.raises(AssertionError, match="ran past its stop"), tap(model, ["0"]):
        model(torch.rand(1, 3, 4, 4))  # without a stop, the later module runs


def test_a_stop_is_caught_only_by_the_tap_that_raised_it(net):
    with tap(net, ["3"]) as outer:
        with tap(net, ["0"], stop_after="0") as inner:
            net(torch.rand(1, 3, 8, 8))
        assert inner.stopped and "3" not in outer  # the inner stop ended the pass
        outer.run(torch.rand(1, 3, 8, 8))
    assert "3" in outer and not outer.stopped
    assert _no_hooks(net)


def test_run_repeats_passes_in_one_registration(net):
    with tap(net, ["2"], stop_after=True) as taps:
        taps.run(torch.zeros(1, 3, 8, 8))
        first = taps["2"]
        taps.run(torch.ones(1, 3, 8, 8))
        second = taps["2"]
    assert not torch.equal(first, second) and list(taps.outputs) == ["2"]


def test_a_module_used_twice():
    torch.manual_seed(0)
    model = Shared()
    x = torch.rand(1, 3, 6, 6)
    with pytest.raises(InvalidInput, match="layer act runs more than once per forward pass"):
        with tap(model, ["act"]):
            model(x)
    assert _no_hooks(model)
    first_call = torch.relu(model.conv1(x))
    with tap(model, ["act"], repeat="first") as first, torch.no_grad():
        out = model(x)
    with tap(model, ["act"], repeat="last") as last, torch.no_grad():
        model(x)
    torch.testing.assert_close(first["act"], first_call)
    torch.testing.assert_close(last["act"], out)
    with tap(model, ["act"], stop_after="act", repeat="last") as stopped:
        model(x)  # stops at the first call, so the second never comes
    torch.testing.assert_close(stopped["act"], first_call)


def test_inputs_are_read_before_an_inplace_module_changes_them():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(inplace=True))
    x = torch.rand(1, 3, 4, 4) - 0.5
    with tap(model, ["1"], inputs=["1"], keep_input=lambda _n, args: args[0].clone()) as taps, torch.no_grad():
        model(x)
    pre = taps.inputs["1"]
    assert (pre < 0).any() and torch.equal(pre.clamp(min=0), taps["1"])


def test_replace_changes_what_later_layers_see(net):
    with tap(net, ["1", "3"], replace={"1": torch.zeros_like}) as taps:
        net(torch.rand(1, 3, 8, 8))
    torch.testing.assert_close(taps["3"], torch.relu(net[2].bias).view(1, 5, 1, 1).expand(1, 5, 8, 8))


def test_unknown_layers_are_one_line(net):
    with pytest.raises(InvalidInput, match="model has no layer named conv9"):
        with tap(net, ["0", "conv9"]):
            pass
    assert _no_hooks(net)
