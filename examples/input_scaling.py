"""The input step of a published model: the atlas feeds every model RGB in [0, 1], and a
model trained on other input (ImageNet's mean and standard deviation, TensorFlow's
[-1, 1]) maps it there first, inside its forward, as InceptionV1 does. The constants are
non-persistent buffers, so the weights file's keys are the published ones."""

from __future__ import annotations

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# TensorFlow's EfficientNet-Lite preprocessing: (pixel - 127) / 128 on 0..255 pixels.
TF_LITE_MEAN = (127 / 255,) * 3
TF_LITE_STD = (128 / 255,) * 3


class InputScaling(nn.Module):
    """``(x - mean) / std`` per channel, for ``x`` RGB in [0, 1]."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: tuple[float, float, float], std: tuple[float, float, float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean)[:, None, None], persistent=False)
        self.register_buffer("std", torch.tensor(std)[:, None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std
