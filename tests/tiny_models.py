"""Small real models for tests that register models through `module:factory`."""

import math

import torch
from torch import nn


def seeded_demo_cnn() -> nn.Module:
    """The demo architecture with the weights of ``torch.manual_seed(0)``, in eval mode."""
    from atlas.compute.models.demo_cnn import DemoCNN

    torch.manual_seed(0)
    return DemoCNN().eval()


def random_images(n: int, size: int = 64) -> torch.Tensor:
    """``n`` RGB images of uniform noise in [0, 1], the same on every call."""
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0))


def tiny() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 2),
    )


def tiny_wide() -> nn.Module:
    """``tiny`` with more channels in layer 3: the same layer names, another model."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2),
    )


# -- a feature that is a direction, not a unit ---------------------------------------------
# Layer "1" detects four colours, one channel each (1x1 convolutions on RGB in [0, 1]):
# red (R - G - B), green (G - R - B), blue (B - R - G) and yellow (R + G - 2B - 1), each
# less 0.2 so that the other colours are clearly off, through a sharp softplus (a ReLU
# whose off side still has a gradient: feature visualization starts from grey, where a
# ReLU detector would be dead).
# Layer "2" (a 1x1 conv, six channels) spreads yellow over channels 0-2, each of which
# responds twice as much to its own primary colour: channel c = yellow + 2 primary_c, and
# channels 3-5 are the primaries alone. Yellow is the direction (1, 1, 1, 0, 0, 0)/sqrt(3)
# of layer "2", and no single channel of it prefers yellow. Its inputs and weights are
# non-negative, so its activations are too (its ReLU "3" changes nothing): pre- and
# post-activation are the same, and it can be factorized.
COLOUR_DETECTORS = ((1.0, -1.0, -1.0, -0.2), (-1.0, 1.0, -1.0, -0.2), (-1.0, -1.0, 1.0, -0.2), (1.0, 1.0, -2.0, -1.2))
COLOURS = {"red": (1.0, 0.0, 0.0), "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0), "yellow": (1.0, 1.0, 0.0)}
SPREAD_CHANNELS = 6
SPREAD_LAYER = "2"  # the layer registration discovers (a conv)
DETECTOR_LAYER = "1"
YELLOW = 3  # the yellow detector's channel in DETECTOR_LAYER


def yellow_direction():
    """The known direction of ``spread_direction``'s layer "2" (a unit vector)."""
    import numpy as np

    vector = np.array([1, 1, 1, 0, 0, 0], dtype=np.float32)
    return vector / np.linalg.norm(vector)


def spread_direction() -> nn.Module:
    import torch

    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Softplus(beta=10), nn.Conv2d(4, SPREAD_CHANNELS, 1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with torch.no_grad():
        detectors = torch.tensor(COLOUR_DETECTORS)
        model[0].weight.copy_(detectors[:, :3, None, None])
        model[0].bias.copy_(detectors[:, 3])
        mix = torch.zeros(SPREAD_CHANNELS, 4)
        for primary in range(3):
            mix[primary, YELLOW], mix[primary, primary] = 1.0, 2.0
            mix[3 + primary, primary] = 1.0
        model[2].weight.copy_(mix[:, :, None, None])
        model[2].bias.zero_()
    return model.eval()


def write_colour_blobs(folder, per_colour: int = 6, size: int = 24) -> list[str]:
    """Real images for ``spread_direction``: ``per_colour`` soft spots of each colour of
    ``COLOURS`` on grey, at seeded places, as PNGs in ``folder``; returns each image's
    colour in the folder dataset's (sorted) index order."""
    from pathlib import Path

    import numpy as np
    from PIL import Image

    from atlas.compute.datasets.synthetic import blob

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = []
    for colour, rgb in COLOURS.items():
        for i in range(per_colour):
            cx, cy = rng.uniform(-size / 4, size / 4, 2)
            image = blob(size, cx, cy, size / 6, np.array(rgb), np.full(3, 0.5))
            Image.fromarray((image * 255).round().astype(np.uint8)).save(folder / f"{colour}_{i:02d}.png")
            names.append(f"{colour}_{i:02d}.png")
    return [name.split("_")[0] for name in sorted(names)]


EDGE_ORIENTATIONS = (60.0, 150.0)  # degrees, counterclockwise: the edges units 0 and 1 detect


def oriented_edges() -> nn.Module:
    """One 9x9 conv layer ``edges`` (ReLU fused, no padding) with known units: 0 and 1 are
    derivative-of-Gaussian filters on luminance that answer an edge at
    ``EDGE_ORIENTATIONS`` (light side at orientation + 90, as the orientation sweep draws
    it); 2 is centre-surround (difference of Gaussians), blind to orientation."""
    from atlas.compute.models.demo_cnn import ConvReLU

    c = torch.arange(9, dtype=torch.float32) - 4
    x, y = c[None, :].expand(9, 9), -c[:, None].expand(9, 9)  # kernel coordinates, y up
    r2 = x * x + y * y
    kernels = []
    for degrees in EDGE_ORIENTATIONS:
        light = math.radians(degrees + 90)
        kernels.append((x * math.cos(light) + y * math.sin(light)) * torch.exp(-r2 / 8))
    dog = torch.exp(-r2 / 2) - torch.exp(-r2 / 8) / 4
    kernels.append(dog - dog.mean())
    conv = ConvReLU(3, 3, 9)
    with torch.no_grad():
        conv.weight.copy_(torch.stack(kernels)[:, None].expand(3, 3, 9, 9) / 3)
        conv.bias.zero_()
    model = nn.Sequential()
    model.add_module("edges", conv)
    return model


class _AbsConv(nn.Conv2d):
    """A convolution whose output is its absolute value: an edge unit of either polarity."""

    def forward(self, x):
        return super().forward(x).abs()


class OrientedSum(nn.Module):
    """A model whose circuit is known by construction.

    ``edges`` (5x5, no padding, so image borders are no edges): unit 0 sees horizontal
    boundaries (intensity changing along y: the orientation-0 edges of the synthetic
    sweep), unit 1 vertical ones (90 degrees), units 2 and 3 colour opponents (red - green,
    blue - yellow: silent on grey images). ``sum`` (1x1): unit 0 is the sum of all four
    edge units with weight 1, unit 1 is edge unit 1 alone. So zeroing the edge 0 -> 0
    removes sum/0's response to 0-degree edges and leaves its response to 90-degree ones.
    """

    atlas_layers = {"edges": "conv", "sum": "conv"}

    def __init__(self) -> None:
        super().__init__()
        self.edges = _AbsConv(3, 4, 5, bias=False)
        self.sum = nn.Conv2d(4, 2, 1, bias=False)
        self.head = nn.Linear(2, 2)
        with torch.no_grad():
            ramp = torch.tensor([-1.0, -2.0, 0.0, 2.0, 1.0])
            smooth = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
            along_y = ramp[:, None] * smooth[None, :] / 3  # (row, column): changes along y
            self.edges.weight.zero_()
            self.edges.weight[0] = along_y
            self.edges.weight[1] = along_y.T
            self.edges.weight[2, 0, 2, 2], self.edges.weight[2, 1, 2, 2] = 1.0, -1.0
            self.edges.weight[3, 2, 2, 2], self.edges.weight[3, 0, 2, 2], self.edges.weight[3, 1, 2, 2] = 1.0, -.5, -.5
            self.sum.weight.zero_()
            self.sum.weight[0, :, 0, 0] = 1.0
            self.sum.weight[1, 1, 0, 0] = 1.0
            self.head.weight.copy_(torch.eye(2))
            self.head.bias.zero_()

    def forward(self, x):
        return self.head(torch.relu(self.sum(self.edges(x))).amax(dim=(2, 3)))


def oriented_sum() -> nn.Module:
    return OrientedSum()


# -- a model with batch norm whose input preprocessing matters ------------------------------
# Registered with --mean NORM_MEAN --std NORM_STD it must compute exactly what the same
# network computes on [0, 1] images once the normalization is folded into its first conv
# (``fold_normalization``; exact because that conv is unpadded).
NORM_MEAN = (0.2, 0.5, 0.7)
NORM_STD = (0.25, 0.1, 0.4)


def bn_net() -> nn.Module:
    from collections import OrderedDict

    return nn.Sequential(OrderedDict([
        ("stem", nn.Sequential(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU())),
        ("block", nn.Sequential(nn.Conv2d(6, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())),
        ("pool", nn.AdaptiveAvgPool2d(1)), ("flat", nn.Flatten()), ("head", nn.Linear(8, 4)),
    ]))


def bn_net_state(seed: int = 0) -> dict:
    """Seeded weights, with batch-norm statistics that are not the identity."""
    torch.manual_seed(seed)
    model = bn_net()
    with torch.no_grad():
        for bn in (model.stem[1], model.block[1]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    return model.state_dict()


def fold_normalization(state: dict, mean=NORM_MEAN, std=NORM_STD) -> dict:
    """``state`` with ``(x - mean) / std`` folded into the first conv ``stem.0``."""
    folded = dict(state)
    m, s = torch.tensor(mean)[None, :, None, None], torch.tensor(std)[None, :, None, None]
    w = state["stem.0.weight"]
    folded["stem.0.weight"] = w / s
    folded["stem.0.bias"] = state["stem.0.bias"] - (w * m / s).sum(dim=(1, 2, 3))
    return folded


def fixed64() -> nn.Module:
    """Runs only on 3x64x64 images: a linear layer reads the flattened 4x16x16 map."""
    return nn.Sequential(nn.Conv2d(3, 4, 4, stride=4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 16 * 16, 3))


class _Pair(nn.Module):
    """A module whose output is a tuple: no tensor with channels to study."""

    def forward(self, x):
        return x, -x


class _FirstOf(nn.Module):
    def forward(self, pair):
        return pair[0]


class SharedReLU(nn.Module):
    """One ReLU module called twice per forward pass (as torchvision's ResNet blocks do),
    and a module that outputs a tuple."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.pair = _Pair()
        self.first = _FirstOf()

    def forward(self, x):
        return self.first(self.pair(self.relu(self.conv2(self.relu(self.conv1(x))))))


def shared_relu() -> nn.Module:
    return SharedReLU()
