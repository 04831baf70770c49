"""The shipped demo model's real conv4 -> conv5 direct weights in a catalogue, for the
tests of signed connections: the issue's example edge ``conv4/58 -> conv5/21`` is an
all-negative kernel (sum about -1.41, norm about 0.49) and the strongest input of
conv5/21, so an unsigned display shows it as "+0.487"."""

from __future__ import annotations

import torch

from atlas import Catalog
from atlas.compute.connections import direct_connections, store_connections
from atlas.compute.models import load_model
from atlas.compute.registration import register_model

K = 6
SRC, DST = 58, 21  # the example edge


def shipped_demo() -> tuple[torch.nn.Module, int]:
    """The shipped demo CNN and its input size."""
    model, info = load_model("demo", None, "cpu")
    return model, int(info.input_shape[-1])


def conv5_kernel_sums() -> torch.Tensor:
    """``(64 conv5 units, 64 conv4 units)``: each kernel's sum, its net mass."""
    return shipped_demo()[0].conv5.weight.detach().sum((2, 3))


def store_shipped_edges(catalog: Catalog, name: str) -> str:
    """Register the shipped demo as ``name`` and store its conv4 -> conv5 direct edges
    (top ``K`` by norm and by net both ways); returns the example edge's destination."""
    register_model(catalog, name, "demo")
    model, size = shipped_demo()
    store_connections(catalog, name, direct_connections(model, "conv4", "conv5", k=K, input_size=size))
    return f"{name}/conv5/{DST}"
