"""Pre-activation taps: the value before each layer's nonlinearity, per model family, and
what reading it changes for feature visualization."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from atlas.compute.capture import capture
from atlas.compute.hooks import tap
from atlas.compute.models import load_model
from atlas.compute.models.demo_cnn import DemoCNN
from atlas.compute.models.inceptionv1 import BLOCKS, InceptionV1
from atlas.compute.optvis import RenderParams, render_units
from atlas.compute.preactivation import locate
from atlas.errors import InvalidInput


def test_demo_pre_activation_is_the_conv_output_before_its_relu():
    torch.manual_seed(0)
    model = DemoCNN().eval()
    x = torch.rand(3, 3, 64, 64)
    with torch.no_grad(), tap(model, [], inputs=["conv3", "conv5"]) as taps:
        model(x)
    pre = capture(model, ["conv3", "conv5", "fc"], x, site="pre")
    post = capture(model, ["conv3", "conv5", "fc"], x)
    for layer in ("conv3", "conv5"):
        conv = getattr(model, layer)
        want = F.conv2d(taps.inputs[layer][0], conv.weight, conv.bias, padding=1)
        torch.testing.assert_close(pre[layer], want)
        assert (pre[layer] < 0).any()  # a real pre-activation, not the rectified map
        torch.testing.assert_close(F.relu(pre[layer]), post[layer])
    torch.testing.assert_close(pre["fc"], post["fc"])  # a linear head has no activation after it


def test_shipped_demo_weights_still_load_strictly():
    """``ConvReLU.act`` has no parameters: the state dict keys are those of the shipped file."""
    model, _ = load_model("demo")  # strict load: an extra or missing key is refused
    assert not any(".act" in key for key in model.state_dict())


def test_inceptionv1_pre_activation_maps_each_branch_to_its_channels():
    """mixed3a's pre-activation is its four branch convs before their ReLUs, concatenated
    in the block's order (1x1, 3x3, 5x5, pool reduce); conv2d0's is its conv."""
    torch.manual_seed(0)
    model = InceptionV1().eval()
    x = torch.rand(1, 3, 96, 96)
    branches = ["mixed3a_1x1", "mixed3a_3x3", "mixed3a_5x5", "mixed3a_pool_reduce"]
    convs = [f"{name}_pre_relu_conv" for name in ["conv2d0", *branches]]
    with torch.no_grad(), tap(model, convs, stop_after="mixed3a") as taps:
        model(x)
    pre = capture(model, ["conv2d0", "mixed3a"], x, site="pre")
    post = capture(model, ["conv2d0", "mixed3a"], x)
    torch.testing.assert_close(pre["conv2d0"], taps["conv2d0_pre_relu_conv"])
    c1, _, c3, _, c5, cp = BLOCKS["mixed3a"]
    start = 0
    for branch, width in zip(branches, (c1, c3, c5, cp), strict=True):
        torch.testing.assert_close(pre["mixed3a"][:, start:start + width],
                                   taps[f"{branch}_pre_relu_conv"])
        start += width
    assert start == pre["mixed3a"].shape[1] == post["mixed3a"].shape[1]
    torch.testing.assert_close(F.relu(pre["mixed3a"]), post["mixed3a"])


def test_generic_rule_and_an_in_place_relu():
    """Without a declaration: a ReLU layer's pre-activation is its input (read before an
    in-place ReLU overwrites it), a conv's is its own output."""
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3)
    model = nn.Sequential(conv, nn.ReLU(inplace=True)).eval()
    x = torch.rand(2, 3, 12, 12)
    pre = capture(model, ["0", "1"], x, site="pre")
    with torch.no_grad():
        want = conv(x)
    assert (want < 0).any()
    torch.testing.assert_close(pre["1"], want)
    torch.testing.assert_close(pre["0"], want)
    assert locate(model, "0", "pre") == locate(model, "0", "post")


def test_bad_sites_and_declarations_are_one_line():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(InvalidInput, match="unknown activation site 'middle'"):
        capture(model, ["1"], torch.rand(1, 3, 8, 8), site="middle")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="unknown activation site"):
        RenderParams(site="middle")  # type: ignore[arg-type]
    model.atlas_pre_activations = {"0": ("relu9",)}
    with pytest.raises(InvalidInput, match="no layer named relu9"):
        capture(model, ["0"], torch.rand(1, 3, 8, 8), site="pre")


def dead_unit_conv(conv: nn.Conv2d) -> nn.Conv2d:
    """``conv`` (3 -> 2 channels, 5x5) with unit 0 an oriented edge filter whose bias is
    below minus the sum of its positive weights, so no image in [0, 1] can make it
    positive: its ReLU output is 0 everywhere, for every image. Unit 1 stays an ordinary
    random unit."""
    r = torch.arange(5) - 2.0
    with torch.no_grad():
        conv.weight[0] = (r[None, :] * torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / 4)).expand(3, 5, 5)
        conv.bias[0] = -conv.weight[0].clamp_min(0).sum() - 1.0
    return conv


def dead_unit_model() -> nn.Module:
    """The dead unit's conv, then a ReLU module."""
    torch.manual_seed(0)
    return nn.Sequential(dead_unit_conv(nn.Conv2d(3, 2, 5)), nn.ReLU()).eval()


@pytest.fixture
def one_thread():
    """Two cores shared with other jobs: one thread renders several times faster here."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_a_unit_dead_after_its_relu_gets_a_picture_from_its_pre_activation(one_thread):
    model = dead_unit_model()
    with torch.no_grad():
        assert model(torch.rand(16, 3, 32, 32))[:, 0].max() == 0
    params = RenderParams(size=32, steps=40, lr=0.2)
    pre = render_units(model, "1", [0], "channel", params, device="cpu")["channel", 0]
    post = render_units(model, "1", [0], "channel", RenderParams(size=32, steps=40, lr=0.2, site="post"),
                        device="cpu")["channel", 0]
    assert post.values[0] == 0
    assert post.images.std() < 0.01  # no gradient: the image never leaves its flat start
    assert pre.images.std() > 0.1
    bias = float(model[0].bias[0].detach())  # the value on a flat image: the filter sums to zero
    assert pre.values[0] > bias
    # The picture is the filter's: intensity rises left to right.
    gy, gx = np.gradient(pre.images[0].mean(-1))
    assert gx.mean() > abs(gy.mean())
    assert params.to_dict("channel")["site"] == "pre"


# -- a generic model whose layers apply their activation as a function inside forward --

class ReluConv(nn.Conv2d):
    """A conv that rectifies its own output, in place or not."""

    def __init__(self, *args: int, inplace: bool = False):
        super().__init__(*args)
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(super().forward(x), inplace=self.inplace)


class ConvBlock(nn.Module):
    """A studied block: ``act(conv(x))`` with a functional activation."""

    def __init__(self, act: str):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.act == "relu_":
            return y.relu_()
        return F.gelu(y) if self.act == "gelu" else torch.relu(y)


class FunctionalNet(nn.Module):
    """(1) a conv subclass with F.relu inside, (2) a torch.relu block, (3) an in-place
    relu block, (4) a gelu block, then a plain conv followed by a ReLU module."""

    def __init__(self):
        super().__init__()
        self.conv = ReluConv(3, 4, 3)
        self.block = ConvBlock("relu")
        self.inplace = ConvBlock("relu_")
        self.gelu = ConvBlock("gelu")
        self.head = nn.Sequential(nn.Conv2d(4, 2, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.gelu(self.inplace(self.block(self.conv(x)))))


def test_a_functional_activation_inside_a_layer_is_found_by_tracing():
    torch.manual_seed(0)
    model = FunctionalNet().eval()
    layers = ["conv", "block", "inplace", "gelu", "head.0"]
    x = torch.rand(2, 3, 12, 12)
    with torch.no_grad():  # the pre-activations, computed by hand
        conv = F.conv2d(x, model.conv.weight, model.conv.bias)
        block = model.block.conv(F.relu(conv))
        inplace = model.inplace.conv(F.relu(block))
        gelu = model.gelu.conv(F.relu(inplace))
        head = model.head[0](F.gelu(gelu))
    want = {"conv": conv, "block": block, "inplace": inplace, "gelu": gelu, "head.0": head}
    post_want = {"conv": F.relu(conv), "block": F.relu(block), "inplace": F.relu(inplace),
                 "gelu": F.gelu(gelu), "head.0": head}
    for _ in range(2):  # the first pass traces, the second reads through the cached trace
        pre = capture(model, layers, x, site="pre")
        post = capture(model, layers, x)
        for layer in layers:
            torch.testing.assert_close(pre[layer], want[layer])
            torch.testing.assert_close(post[layer], post_want[layer])
    assert all((want[layer] < 0).any() for layer in layers)  # each pre differs from its post
    assert [locate(model, layer, "pre").watched for layer in layers] == [True, True, True, True, False]
    # Tapped one at a time (the pass stops right after the layer), and with a reduction.
    torch.testing.assert_close(capture(model, ["inplace"], x, site="pre")["inplace"], inplace)
    torch.testing.assert_close(capture(model, ["gelu"], x, reduction="max", site="pre")["gelu"],
                               gelu.flatten(2).amax(2))


def test_a_layer_traced_without_a_final_activation_is_read_at_its_output():
    """A conv subclass that does not rectify, followed by a ReLU module: its output is its
    pre-activation, and once traced it is read without the watch."""
    class PlainConv(nn.Conv2d):
        pass

    torch.manual_seed(0)
    model = nn.Sequential(PlainConv(3, 4, 3), nn.ReLU(inplace=True)).eval()
    x = torch.rand(2, 3, 10, 10)
    assert locate(model, "0", "pre").watched
    with torch.no_grad():
        want = model[0](x)
    torch.testing.assert_close(capture(model, ["0"], x, site="pre")["0"], want)
    assert locate(model, "0", "pre") == locate(model, "0", "post")


def test_a_layer_that_stops_ending_in_its_traced_activation_is_one_line():
    torch.manual_seed(0)
    model = FunctionalNet().eval()
    x = torch.rand(1, 3, 12, 12)
    capture(model, ["block"], x, site="pre")
    model.block.forward = lambda y: model.block.conv(y) * 1.0  # no activation any more
    with pytest.raises(InvalidInput, match="layer block no longer ends in the activation function"):
        capture(model, ["block"], x, site="pre")


def test_a_dead_unit_of_a_fused_conv_relu_gets_a_picture_from_its_pre_activation(one_thread):
    """The dead unit of the test above in a conv that rectifies itself, in place: only the
    traced pre-activation has a gradient."""
    torch.manual_seed(0)
    model = nn.Sequential(dead_unit_conv(ReluConv(3, 2, 5, inplace=True))).eval()
    with torch.no_grad():
        assert model(torch.rand(16, 3, 32, 32))[:, 0].max() == 0
    renders = {site: render_units(model, "0", [0], "channel", RenderParams(size=32, steps=40, lr=0.2, site=site),
                                  device="cpu")["channel", 0] for site in ("pre", "post")}
    assert renders["post"].values[0] == 0
    assert renders["post"].images.std() < 0.01
    assert renders["pre"].images.std() > 0.1
    assert renders["pre"].values[0] > float(model[0].bias[0].detach())
    gy, gx = np.gradient(renders["pre"].images[0].mean(-1))
    assert gx.mean() > abs(gy.mean())
