"""Small real models for tests that register models through `module:factory`."""

from torch import nn


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


EDGE_ORIENTATIONS = (60.0, 150.0)  # degrees, counterclockwise: the edges units 0 and 1 detect


def oriented_edges() -> nn.Module:
    """One 9x9 conv layer ``edges`` (ReLU fused, no padding) with known units: 0 and 1 are
    derivative-of-Gaussian filters on luminance that answer an edge at
    ``EDGE_ORIENTATIONS`` (light side at orientation + 90, as the orientation sweep draws
    it); 2 is centre-surround (difference of Gaussians), blind to orientation."""
    import math

    import torch

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
