"""The demo CNN: five named conv layers small enough to train on two CPU cores.

Every conv layer is a ``ConvReLU``: a ``Conv2d`` whose output is already rectified. So a hook
on ``conv3`` sees the post-ReLU activations (as Lucid's names do for InceptionV1), while its
weight is still ``conv3.weight`` for the connection code; the ReLU is a parameter-free child
module ``conv3.act``, whose input is the layer's pre-activation (``atlas_pre_activations``). There is
no batch norm: weights between layers are then the whole story of a circuit.

``conv1`` has 7x7 kernels with stride 2, like InceptionV1's first layer, which leaves room
for oriented edge and line filters to show their structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from atlas.compute.datasets.synthetic import CLASSES

INPUT_SIZE = 64
# The shipped demo models: the same design at two widths (and seeds) for universality work.
DEMO_WIDTHS: dict[str, tuple[int, ...]] = {
    "demo": (16, 32, 48, 64, 64),
    "demo-b": (24, 32, 64, 64, 96),
}


class ConvReLU(nn.Conv2d):
    """A convolution followed by ReLU in one module (its output is the rectified map).

    With ``batch_norm`` a BatchNorm sits between the two: only for training (it lets SGD
    train the whole net, first layer included, in a few minutes); ``fold_batch_norm``
    removes it before the weights are saved.
    """

    def __init__(self, *args: Any, batch_norm: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.norm = nn.BatchNorm2d(self.out_channels) if batch_norm else None
        self.act = nn.ReLU()  # a module so that its input, the pre-activation, can be tapped

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        return self.act(self.norm(y) if self.norm is not None else y)

    @torch.no_grad()
    def fold_batch_norm(self) -> None:
        """Fold the BatchNorm's running statistics and affine map into weight and bias
        (exact in eval mode) and drop it."""
        if self.norm is None:
            return
        n = self.norm
        assert n.running_var is not None and n.running_mean is not None and self.bias is not None  # built so
        scale = n.weight / torch.sqrt(n.running_var + n.eps)
        self.weight.mul_(scale[:, None, None, None])
        self.bias.copy_((self.bias - n.running_mean) * scale + n.bias)
        self.norm = None


class DemoCNN(nn.Module):
    """conv1 (7x7/2) -> conv2 -> pool -> conv3 -> pool -> conv4 -> pool -> conv5 -> mean -> fc.

    Input: RGB in [0, 1], ``INPUT_SIZE`` pixels square (any size works; the head pools
    globally). Output: logits over ``atlas.compute.datasets.synthetic.CLASSES``.
    """

    atlas_pre_activations = {f"conv{i}": (f"conv{i}.act",) for i in range(1, 6)}

    def __init__(self, widths: Sequence[int] = DEMO_WIDTHS["demo"],
                 num_classes: int = len(CLASSES), batch_norm: bool = False):
        super().__init__()
        if len(widths) != 5:
            raise ValueError(f"DemoCNN needs 5 widths, got {len(widths)}")
        self.widths = tuple(widths)
        bn = dict(batch_norm=batch_norm)
        self.conv1 = ConvReLU(3, widths[0], 7, stride=2, padding=3, **bn)
        self.conv2 = ConvReLU(widths[0], widths[1], 3, padding=1, **bn)
        self.conv3 = ConvReLU(widths[1], widths[2], 3, padding=1, **bn)
        self.conv4 = ConvReLU(widths[2], widths[3], 3, padding=1, **bn)
        self.conv5 = ConvReLU(widths[3], widths[4], 3, padding=1, **bn)
        self.fc = nn.Linear(widths[4], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.conv1(x))
        x = self.conv3(F.max_pool2d(x, 2))
        x = self.conv4(F.max_pool2d(x, 2))
        x = self.conv5(F.max_pool2d(x, 2))
        return self.fc(x.mean(dim=(2, 3)))

    def fold_batch_norm(self) -> DemoCNN:
        """Turn a model trained with ``batch_norm=True`` into the plain architecture."""
        for module in self.modules():
            if isinstance(module, ConvReLU):
                module.fold_batch_norm()
        return self


def untrained_demo(name: str, seed: int) -> DemoCNN:
    """The demo architecture ``name`` at PyTorch's default random initialization under
    ``seed``, untrained: the control of a universality measurement (what two networks of
    this design share before any training). The global random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DemoCNN(DEMO_WIDTHS[name]).eval()
