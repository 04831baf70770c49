"""EfficientNet-Lite0 (Tan & Le 2019; the Lite variants of TensorFlow's model garden) with the
module layout of the ``efficientnet_pytorch`` package, built without it.

The parameter names are ``efficientnet_pytorch``'s (``_conv_stem``, ``_bn0``,
``_blocks.N._expand_conv`` / ``_bn0`` / ``_depthwise_conv`` / ``_bn1`` / ``_project_conv`` /
``_bn2``, ``_conv_head``, ``_bn1``, ``_fc``), so ``efficientnet-lite0-57934424.pth`` loads
strictly. The Lite variants differ from B0 where it matters for mobile accelerators: no
squeeze-and-excitation, ReLU6 instead of swish, and a stem and head that are not scaled
with the width (at Lite0's width 1.0 that changes nothing).

The weights were converted from TensorFlow's checkpoint, and two TensorFlow conventions
are kept because the file's batch-norm statistics fit them best (checked on the
scikit-image photographs, see ``docs/models.md``): convolutions pad "SAME" TensorFlow's
way (the odd pixel of a stride-2 convolution's padding after, not before), and the input
is ``(pixel - 127) / 128`` on 0..255 pixels, not ImageNet's mean and standard deviation.
``build`` takes RGB in [0, 1] at 224 x 224, like every atlas model, and maps it so;
``build_published`` takes the [-1, 1] input itself.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from atlas.compute.models.inceptionv1 import same_pad
from examples.input_scaling import TF_LITE_MEAN, TF_LITE_STD, InputScaling

# (kernel, first stride, expansion, input channels, output channels, repeats) of each
# stage: EfficientNet-B0's, which Lite0 shares (width and depth multipliers 1.0).
STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (3, 1, 1, 32, 16, 1), (3, 2, 6, 16, 24, 2), (5, 2, 6, 24, 40, 2), (3, 2, 6, 40, 80, 3),
    (5, 1, 6, 80, 112, 3), (5, 2, 6, 112, 192, 4), (3, 1, 6, 192, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
NUM_CLASSES = 1000
BN_EPS = 1e-3  # TensorFlow's, which the weights were trained with (PyTorch's default is 1e-5)
DROPOUT = 0.2


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=0.01)


class SameConv2d(nn.Conv2d):
    """A bias-free convolution padded as TensorFlow's SAME (``efficientnet_pytorch``'s
    ``Conv2dDynamicSamePadding``; its parameter is ``weight`` alone, as there)."""

    def __init__(self, inputs: int, outputs: int, kernel: int = 1, stride: int = 1, groups: int = 1):
        super().__init__(inputs, outputs, kernel, stride, 0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(same_pad(x, self.kernel_size[0], self.stride[0]), self.weight, None, self.stride,
                        0, 1, self.groups)


class MBConv(nn.Module):
    """Mobile inverted bottleneck: expand by a 1x1 convolution (unless ``expansion`` is 1),
    filter depthwise, project linearly by a 1x1 convolution; add the input when the shapes
    allow (drop-connect is a training-time regulariser, absent here)."""

    def __init__(self, kernel: int, stride: int, expansion: int, inputs: int, outputs: int):
        super().__init__()
        hidden = inputs * expansion
        if expansion != 1:
            self._expand_conv = SameConv2d(inputs, hidden)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden)
        self._bn1 = _bn(hidden)
        self._project_conv = SameConv2d(hidden, outputs)
        self._bn2 = _bn(outputs)
        self._relu6 = nn.ReLU6()
        self.expands = expansion != 1
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self._relu6(self._bn0(self._expand_conv(x))) if self.expands else x
        h = self._relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return x + h if self.residual else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0: stem, 16 MBConv blocks, 1x1 head, global average pooling,
    dropout, ``_fc``; with ``scale_input``, [0, 1] input mapped to [-1, 1] first."""

    def __init__(self, num_classes: int = NUM_CLASSES, scale_input: bool = True):
        super().__init__()
        self.input_scaling = InputScaling(TF_LITE_MEAN, TF_LITE_STD) if scale_input else nn.Identity()
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, 2)
        self._bn0 = _bn(STEM_CHANNELS)
        self._blocks = nn.ModuleList(
            MBConv(kernel, stride if i == 0 else 1, expansion, inputs if i == 0 else outputs, outputs)
            for kernel, stride, expansion, inputs, outputs, repeats in STAGES for i in range(repeats))
        self._conv_head = SameConv2d(STAGES[-1][4], HEAD_CHANNELS)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._relu6 = nn.ReLU6()
        self._dropout = nn.Dropout(DROPOUT)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._relu6(self._bn0(self._conv_stem(self.input_scaling(x))))
        for block in self._blocks:
            x = block(x)
        x = self._relu6(self._bn1(self._conv_head(x))).mean(dim=(2, 3))
        return self._fc(self._dropout(x))


def build() -> EfficientNetLite0:
    """The ImageNet EfficientNet-Lite0 taking RGB in [0, 1], untrained: load
    ``efficientnet-lite0-57934424.pth`` into it."""
    return EfficientNetLite0()


def build_published() -> EfficientNetLite0:
    """The network alone, taking input already in TensorFlow's [-1, 1]."""
    return EfficientNetLite0(scale_input=False)
