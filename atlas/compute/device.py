"""Choosing the torch device: one rule for the CLI, workers and libraries."""

from __future__ import annotations

import torch

from atlas.errors import InvalidInput


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` means the GPU when there is one; asking for CUDA without one is an error."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InvalidInput(f"unknown device {device!r} (auto, cpu or cuda)")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidInput("--device cuda was asked for, but no CUDA GPU is available here")
    return torch.device(device)
