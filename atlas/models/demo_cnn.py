"""The demo CNN: five named conv layers small enough to train on two CPU cores.

Every conv layer is a ``ConvReLU``: a ``Conv2d`` whose output is already rectified. So a hook
on ``conv3`` sees the post-ReLU activations that the atlas studies (as Lucid's names do for
InceptionV1), while its weight is still ``conv3.weight`` for the connection code. There is
no batch norm: weights between layers are then the whole story of a circuit.

``conv1`` has 7x7 kernels with stride 2, like InceptionV1's first layer, which leaves room
for oriented edge and line filters to show their structure.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from atlas.datasets.synthetic import CLASSES

INPUT_SIZE = 64
# The shipped demo models: the same design at two widths (and seeds) for universality work.
DEMO_WIDTHS: dict[str, tuple[int, ...]] = {
    "demo": (16, 32, 48, 64, 64),
    "demo-b": (24, 32, 64, 64, 96),
}


class ConvReLU(nn.Conv2d):
    """A convolution followed by ReLU in one module (its output is the rectified map)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(super().forward(x))


class DemoCNN(nn.Module):
    """conv1 (7x7/2) -> conv2 -> pool -> conv3 -> pool -> conv4 -> pool -> conv5 -> mean -> fc.

    Input: RGB in [0, 1], ``INPUT_SIZE`` pixels square (any size works; the head pools
    globally). Output: logits over ``atlas.datasets.synthetic.CLASSES``.
    """

    def __init__(self, widths: Sequence[int] = (16, 32, 48, 64, 64),
                 num_classes: int = len(CLASSES)):
        super().__init__()
        if len(widths) != 5:
            raise ValueError(f"DemoCNN needs 5 widths, got {len(widths)}")
        self.widths = tuple(widths)
        self.conv1 = ConvReLU(3, widths[0], 7, stride=2, padding=3)
        self.conv2 = ConvReLU(widths[0], widths[1], 3, padding=1)
        self.conv3 = ConvReLU(widths[1], widths[2], 3, padding=1)
        self.conv4 = ConvReLU(widths[2], widths[3], 3, padding=1)
        self.conv5 = ConvReLU(widths[3], widths[4], 3, padding=1)
        self.fc = nn.Linear(widths[4], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.conv1(x))
        x = self.conv3(F.max_pool2d(x, 2))
        x = self.conv4(F.max_pool2d(x, 2))
        x = self.conv5(F.max_pool2d(x, 2))
        return self.fc(x.mean(dim=(2, 3)))
