"""Non-negative matrix factorization of a layer's activations: Lucid's "building blocks".

Every position of every image is one row of a (rows, channels) matrix V of post-ReLU,
non-negative activations; NMF finds V ~ W H with W (rows, n) and H (n, channels) both
non-negative, so each row of H is a direction the layer's activity is built from, and W
says how much of it each position has. Lucid's activation grid factorizes one image; here
the rows are sampled over a dataset (at most ``max_rows``, the same positions for the same
seed), so the factors are the layer's common building blocks.

Unlike objectives, examples and differences of means, which read the pre-activation, the
factorization reads the layer's output (``site="post"``), as Lucid factorizes the
rectified ``mixed4d``: NMF needs non-negative data, and a pre-activation is signed.

The solver is Lee and Seung's multiplicative updates for the Frobenius loss, in torch,
from a seeded random start: deterministic for a seed on one device. The factors are
returned as unit vectors, ordered by how much activation they explain (the sum of W's
column times the factor's norm), largest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import Dataset

from atlas.compute.capture import iter_activations
from atlas.compute.preactivation import Site
from atlas.errors import InvalidInput

EPS = 1e-9
SITE: Site = "post"  # the rectified output: non-negative, as NMF needs


@dataclass
class Factorization:
    """``directions``: (n, C) unit vectors, largest share first; ``share``: (n,) each
    one's fraction of the explained activation; ``error``: ||V - WH|| / ||V||."""

    directions: torch.Tensor
    share: torch.Tensor
    error: float


def nmf(v: torch.Tensor, n: int, iterations: int = 500, seed: int = 0) -> Factorization:
    """Factorize the non-negative (rows, C) matrix ``v`` into ``n`` factors."""
    if v.dim() != 2 or not len(v):
        raise InvalidInput("a factorization needs a non-empty (rows, channels) matrix")
    if n < 1 or n > v.shape[1]:
        raise InvalidInput(f"the number of factors must be 1 to {v.shape[1]} (the channels), not {n}")
    if bool((v < 0).any()):
        raise InvalidInput(f"non-negative factorization needs non-negative activations; the smallest is "
                           f"{float(v.min()):.3g}: factorize a layer after its ReLU")
    v = v.double()
    generator = torch.Generator().manual_seed(seed)
    scale = (v.mean() / n).sqrt()
    w = torch.rand((v.shape[0], n), generator=generator, dtype=torch.float64).to(v.device) * scale
    h = torch.rand((n, v.shape[1]), generator=generator, dtype=torch.float64).to(v.device) * scale
    for _ in range(iterations):
        h *= (w.T @ v) / (w.T @ w @ h + EPS)
        w *= (v @ h.T) / (w @ (h @ h.T) + EPS)
    norms = h.norm(dim=1)
    weight = w.sum(dim=0) * norms
    order = weight.argsort(descending=True)
    directions = (h / (norms[:, None] + EPS))[order]
    error = float((v - w @ h).norm() / (v.norm() + EPS))
    return Factorization(directions.float().cpu(), (weight[order] / (weight.sum() + EPS)).float().cpu(), error)


def activation_rows(model: nn.Module, layer: str, dataset: Dataset, max_rows: int = 200_000, seed: int = 0,
                    batch_size: int = 64) -> torch.Tensor:
    """(rows, C) activation vectors of ``layer`` over ``dataset``: every position of every
    image, or, when that is more than ``max_rows``, the same seeded random sample of
    positions in each image (``max_rows // images`` of them, at least one)."""
    images = len(dataset)  # type: ignore[arg-type]
    if images == 0:
        raise InvalidInput("a factorization needs a dataset with at least one image")
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for batch in iter_activations(model, [layer], dataset, batch_size, site=SITE):
        acts = batch.activations[layer]
        if acts.dim() != 4:
            raise InvalidInput(f"factorization needs a layer with 2-d maps; {layer} has none")
        flat = acts.flatten(2).transpose(1, 2).float().cpu()  # (N, positions, C)
        per_image = max(1, min(flat.shape[1], max_rows // images))
        if per_image < flat.shape[1]:
            keep = torch.stack([torch.randperm(flat.shape[1], generator=generator)[:per_image]
                                for _ in range(len(flat))])
            flat = flat.gather(1, keep[..., None].expand(-1, -1, flat.shape[2]))
        rows.append(flat.reshape(-1, flat.shape[2]))
    return torch.cat(rows)


def factorize_layer(model: nn.Module, layer: str, dataset: Dataset, n: int, iterations: int = 500,
                    seed: int = 0, max_rows: int = 200_000) -> Factorization:
    """``n`` building blocks of ``layer``'s activations over ``dataset``."""
    return nmf(activation_rows(model, layer, dataset, max_rows, seed), n, iterations, seed)
