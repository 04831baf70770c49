"""MobileNetV2 (Sandler et al. 2018) with torchvision's module layout, built without
torchvision.

The parameter names are torchvision's (``features.0.0.weight``,
``features.1.conv.0.0.weight``, ..., ``classifier.1.weight``), created in the same order,
so torchvision's published ImageNet weights (``mobilenet_v2-b0353104.pth``) load strictly.
Output: logits over the 1,000 ImageNet classes (indices in the usual ImageNet order).

Two factories: ``build`` takes RGB in [0, 1] at 224 x 224, like every atlas model, and
normalises it with the ImageNet mean and standard deviation first; ``build_published``
is the network alone, taking input already normalised (for a loader that normalises
outside the model).
"""

from __future__ import annotations

import torch
from torch import nn

from examples.input_scaling import IMAGENET_MEAN, IMAGENET_STD, InputScaling

# (expansion, output channels, repeats, first stride) of each stage, from the paper.
STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
NUM_CLASSES = 1000


class ConvBNReLU6(nn.Sequential):
    """Convolution without bias, batch norm, ReLU6 (torchvision's ``Conv2dNormActivation``,
    whose children are numbered 0, 1, 2)."""

    def __init__(self, inputs: int, outputs: int, kernel: int = 3, stride: int = 1, groups: int = 1):
        super().__init__(nn.Conv2d(inputs, outputs, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(outputs), nn.ReLU6())


class InvertedResidual(nn.Module):
    """Expand by a 1x1 convolution (unless ``expansion`` is 1), filter depthwise, project
    linearly back by a 1x1 convolution; add the input when the shapes allow."""

    def __init__(self, inputs: int, outputs: int, stride: int, expansion: int):
        super().__init__()
        hidden = inputs * expansion
        layers: list[nn.Module] = [ConvBNReLU6(inputs, hidden, kernel=1)] if expansion != 1 else []
        layers += [ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, outputs, 1, bias=False), nn.BatchNorm2d(outputs)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 at width 1.0: ``features`` (stem, 17 inverted residual blocks, 1x1 head
    conv), global average pooling, ``classifier`` (dropout, linear); with ``scale_input``,
    ImageNet normalisation of [0, 1] input first."""

    def __init__(self, num_classes: int = NUM_CLASSES, scale_input: bool = True):
        super().__init__()
        self.input_scaling = InputScaling(IMAGENET_MEAN, IMAGENET_STD) if scale_input else nn.Identity()
        features: list[nn.Module] = [ConvBNReLU6(3, STEM_CHANNELS, stride=2)]
        inputs = STEM_CHANNELS
        for expansion, outputs, repeats, stride in STAGES:
            for i in range(repeats):
                features.append(InvertedResidual(inputs, outputs, stride if i == 0 else 1, expansion))
                inputs = outputs
        features.append(ConvBNReLU6(inputs, LAST_CHANNELS, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(LAST_CHANNELS, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(self.input_scaling(x)).mean(dim=(2, 3))
        return self.classifier(x)


def build() -> MobileNetV2:
    """The ImageNet MobileNetV2 taking RGB in [0, 1], untrained: load
    ``mobilenet_v2-b0353104.pth`` into it."""
    return MobileNetV2()


def build_published() -> MobileNetV2:
    """The network alone, taking ImageNet-normalised input."""
    return MobileNetV2(scale_input=False)
