"""InceptionV1 (GoogLeNet) as Lucid ships it, built in code.

Layer names and channel counts are Lucid's (``conv2d0`` ... ``mixed5b``), so addresses like
``inceptionv1/mixed3b/379`` mean what the Circuits papers mean. Parameter names are those of
Lucent's PyTorch port (``mixed3a_1x1_pre_relu_conv.weight``, created in the same order), so
a user's existing Lucent weight file loads strictly, and hooks on the names Lucent users
know (``mixed4a``, ``mixed4a_3x3``, ``conv2d0``) see the same post-ReLU tensors. The
pre-activations (Lucid's ``*_pre_relu``) are the inputs of those ReLU modules
(``atlas_pre_activations``, see ``atlas.compute.preactivation``).

Reproduced from the TensorFlow original, where PyTorch defaults differ:
- SAME padding computed TensorFlow's way (the odd pixel goes after, not before: (2, 3) for
  the 7x7/2 stem at 224 pixels; max pools pad with -inf);
- local response normalization after the stem and after ``conv2d2``, with the constants
  Lucent uses;
- the input range: the model takes RGB in [0, 1], like every atlas model, and maps it to
  the [-117, 138] range the graph was trained on (what Lucent's
  ``preprocess_inceptionv1`` does outside its model).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# name: (1x1, 3x3 bottleneck, 3x3, 5x5 bottleneck, 5x5, pool reduce) output channels
BLOCKS: dict[str, tuple[int, int, int, int, int, int]] = {
    "mixed3a": (64, 96, 128, 16, 32, 32),
    "mixed3b": (128, 128, 192, 32, 96, 64),
    "mixed4a": (192, 96, 204, 16, 48, 64),
    "mixed4b": (160, 112, 224, 24, 64, 64),
    "mixed4c": (128, 128, 256, 24, 64, 64),
    "mixed4d": (112, 144, 288, 32, 64, 64),
    "mixed4e": (256, 160, 320, 32, 128, 128),
    "mixed5a": (256, 160, 320, 48, 128, 128),
    "mixed5b": (384, 192, 384, 48, 128, 128),
}
# Blocks followed by a stride-2 max pool (Lucid's maxpool4 and maxpool10).
_POOL_AFTER = ("mixed3b", "mixed4e")
STUDIED_LAYERS: dict[str, str] = {"conv2d0": "conv", "conv2d1": "conv", "conv2d2": "conv",
                                  **{name: "concat" for name in BLOCKS}}
# Each studied layer's pre-activation: the inputs of these ReLU modules, concatenated along
# channels (a mixed block's branches in the order ``_block`` passes them to its Concat).
PRE_ACTIVATIONS: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in ("conv2d0", "conv2d1", "conv2d2")},
    **{name: (f"{name}_1x1", f"{name}_3x3", f"{name}_5x5", f"{name}_pool_reduce")
       for name in BLOCKS},
}
INPUT_SIZE = 224
NUM_CLASSES = 1008
_LRN: dict[str, Any] = dict(size=9, alpha=9.99999974738e-05, beta=0.5, k=1.0)


def same_pad(x: torch.Tensor, kernel: int, stride: int, value: float = 0.0) -> torch.Tensor:
    """Pad ``x`` as TensorFlow's SAME padding does: output size ceil(size / stride), the
    extra pixel of an odd total on the bottom and right."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x


def _max_pool(x: torch.Tensor, stride: int) -> torch.Tensor:
    return F.max_pool2d(same_pad(x, 3, stride, float("-inf")), 3, stride)


class Concat(nn.Module):
    """Channel concatenation as a module, so the block output can be hooked by name."""

    def forward(self, *branches: torch.Tensor) -> torch.Tensor:
        return torch.cat(branches, dim=1)


class InceptionV1(nn.Module):
    """Lucid's InceptionV1; input RGB in [0, 1], any size; output class probabilities."""

    atlas_layers = STUDIED_LAYERS
    atlas_pre_activations = PRE_ACTIVATIONS

    def __init__(self) -> None:
        super().__init__()
        self._conv("conv2d0", 3, 64, 7, stride=2)
        self._conv("conv2d1", 64, 64, 1)
        self._conv("conv2d2", 64, 192, 3)
        channels = 192
        for name, (c1, b3, c3, b5, c5, cp) in BLOCKS.items():
            for branch, out in (("1x1", c1), ("3x3_bottleneck", b3),
                                ("5x5_bottleneck", b5), ("pool_reduce", cp)):
                self._conv(f"{name}_{branch}", channels, out, 1)
            self._conv(f"{name}_3x3", b3, c3, 3)
            self._conv(f"{name}_5x5", b5, c5, 5)
            self.add_module(name, Concat())
            channels = c1 + c3 + c5 + cp
        self.softmax2_pre_activation_matmul = nn.Linear(channels, NUM_CLASSES)
        self.softmax2 = nn.Softmax(dim=1)

    def _conv(self, name: str, cin: int, cout: int, kernel: int, stride: int = 1) -> None:
        """A conv named like Lucent's (``<name>_pre_relu_conv``) and its ReLU (``<name>``)."""
        self.add_module(f"{name}_pre_relu_conv", nn.Conv2d(cin, cout, kernel, stride))
        self.add_module(name, nn.ReLU())

    def _conv_relu(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """SAME-padded conv then ReLU, through the modules so hooks on either fire."""
        conv: nn.Conv2d = getattr(self, f"{name}_pre_relu_conv")
        return getattr(self, name)(conv(same_pad(x, conv.kernel_size[0], conv.stride[0])))

    def _block(self, name: str, x: torch.Tensor) -> torch.Tensor:
        branch3 = self._conv_relu(f"{name}_3x3", self._conv_relu(f"{name}_3x3_bottleneck", x))
        branch5 = self._conv_relu(f"{name}_5x5", self._conv_relu(f"{name}_5x5_bottleneck", x))
        pooled = self._conv_relu(f"{name}_pool_reduce", _max_pool(x, 1))
        return getattr(self, name)(self._conv_relu(f"{name}_1x1", x), branch3, branch5, pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * 255.0 - 117.0
        x = self._conv_relu("conv2d0", x)
        x = F.local_response_norm(_max_pool(x, 2), **_LRN)
        x = self._conv_relu("conv2d2", self._conv_relu("conv2d1", x))
        x = _max_pool(F.local_response_norm(x, **_LRN), 2)
        for name in BLOCKS:
            x = self._block(name, x)
            if name in _POOL_AFTER:
                x = _max_pool(x, 2)
        logits = self.softmax2_pre_activation_matmul(x.mean(dim=(2, 3)))
        return self.softmax2(logits)
