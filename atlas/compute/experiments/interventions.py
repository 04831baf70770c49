"""What an experiment changes, as forward hooks (``atlas.compute.hooks.tap``'s
``replace``), and the matched random control of each kind.

Nothing here writes a weight: the model a worker shares between jobs is never touched.

- ``ablate_units``: the units' maps set to zero, or to their mean map over the stimuli.
- ``ablate_direction``: the component along a direction removed, or set to its mean.
- ``steer``: a direction added (``scale`` times the vector) at every position.
- ``edit_edges``: the source units' signal scaled (0: removed) on its way to each
  destination unit only. The batch is copied at the source layer, once per destination
  unit, with that unit's sources scaled; at the destination layer each edited unit takes
  its channel from its copy. When the two layers are adjacent convolutions (max pooling
  between them included, as the scale is not negative) this is exactly the weight edit
  "scale the kernel from source s into destination d"; across several layers it scales
  every path from s to d.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from atlas.address import parse_feature, parse_layer
from atlas.compute.hooks import resolve_layers
from atlas.errors import InvalidInput

Replace = Callable[[torch.Tensor], torch.Tensor]
MATCH_POOL = 3  # a control unit or edge is drawn from the this many nearest in strength


def _check_channels(layer: str, x: torch.Tensor, channels: list[int]) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() < 2:
        raise InvalidInput(f"layer {layer} does not output a (batch, channels, ...) tensor")
    bad = [c for c in channels if c >= x.shape[1]]
    if bad:
        raise InvalidInput(f"layer {layer} has {x.shape[1]} channels: no unit {bad[0]}")


def _per_channel(vector: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``vector`` (C,) shaped to broadcast over ``x`` (B, C, ...)."""
    return vector.to(x.device, x.dtype).reshape(1, -1, *([1] * (x.dim() - 2)))


@dataclass
class Intervention:
    """No change (a plain measurement); the base of the others."""

    kind: str = "none"
    stat_layers: tuple[str, ...] = ()  # layers whose mean map over the stimuli it needs

    def hooks(self, stats: dict[str, torch.Tensor]) -> dict[str, Replace]:
        return {}

    def rows(self, layer: str, channel: int | None, n: int) -> slice:
        """The rows of ``layer``'s tapped batch that carry ``channel`` as the model sees it."""
        return slice(0, n)

    def describe(self) -> dict:
        return {"kind": self.kind}


@dataclass
class UnitAblation(Intervention):
    layer: str = ""
    channels: list[int] = field(default_factory=list)
    mode: str = "zero"

    def __post_init__(self) -> None:
        self.stat_layers = (self.layer,)

    def hooks(self, stats: dict[str, torch.Tensor]) -> dict[str, Replace]:
        def ablate(x: torch.Tensor) -> torch.Tensor:
            _check_channels(self.layer, x, self.channels)
            x = x.clone()
            x[:, self.channels] = 0 if self.mode == "zero" else stats[self.layer][self.channels].to(x)
            return x
        return {self.layer: ablate}

    def describe(self) -> dict:
        return {"kind": self.kind, "layer": self.layer, "units": self.channels, "mode": self.mode}


@dataclass
class DirectionEdit(Intervention):
    """``ablate_direction`` (``mode``) or ``steer`` (``scale``)."""

    layer: str = ""
    vector: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    mode: str = "zero"
    scale: float = 1.0

    def __post_init__(self) -> None:
        self.stat_layers = (self.layer,) if self.kind == "ablate_direction" else ()

    def hooks(self, stats: dict[str, torch.Tensor]) -> dict[str, Replace]:
        def edit(x: torch.Tensor) -> torch.Tensor:
            if x.dim() < 2 or x.shape[1] != len(self.vector):
                raise InvalidInput(f"a direction of {len(self.vector)} components does not fit layer "
                                   f"{self.layer} ({x.shape[1] if x.dim() > 1 else 0} channels)")
            v = _per_channel(self.vector, x)
            if self.kind == "steer":
                return x + self.scale * v
            u = v / self.vector.norm()
            proj = (x * u).sum(1, keepdim=True)
            target = 0 if self.mode == "zero" else (stats[self.layer].to(x) * u[0]).sum(0, keepdim=True)
            return x - (proj - target) * u
        return {self.layer: edit}

    def describe(self) -> dict:
        out = {"kind": self.kind, "layer": self.layer, "vector": [round(float(v), 6) for v in self.vector]}
        return out | ({"scale": self.scale} if self.kind == "steer" else {"mode": self.mode})


@dataclass
class EdgeEdit(Intervention):
    src: str = ""
    dst: str = ""
    sources: dict[int, list[int]] = field(default_factory=dict)  # destination channel -> source channels
    scale: float = 0.0

    def __post_init__(self) -> None:
        self.stat_layers = (self.src,)

    def hooks(self, stats: dict[str, torch.Tensor]) -> dict[str, Replace]:
        groups = list(self.sources.items())
        batch: list[int] = []

        def copy(x: torch.Tensor) -> torch.Tensor:
            _check_channels(self.src, x, [s for _, srcs in groups for s in srcs])
            batch[:] = [x.shape[0]]
            copies = [x]
            for _, srcs in groups:
                edited = x.clone()
                edited[:, srcs] *= self.scale
                copies.append(edited)
            return torch.cat(copies)

        def merge(y: torch.Tensor) -> torch.Tensor:
            n = batch[0] if batch else 0
            if not n or y.shape[0] != n * (len(groups) + 1):
                raise InvalidInput(f"layer {self.src} does not run before layer {self.dst} in the forward pass")
            _check_channels(self.dst, y, [d for d, _ in groups])
            out = y[:n].clone()
            for g, (dst, _) in enumerate(groups, start=1):
                out[:, dst] = y[g * n:(g + 1) * n, dst]
            return out
        return {self.src: copy, self.dst: merge}

    def rows(self, layer: str, channel: int | None, n: int) -> slice:
        if layer == self.dst and channel in self.sources:
            g = list(self.sources).index(channel) + 1
            return slice(g * n, (g + 1) * n)
        return slice(0, n)

    def describe(self) -> dict:
        return {"kind": self.kind, "src": self.src, "dst": self.dst, "scale": self.scale,
                "edges": [[s, d] for d, srcs in self.sources.items() for s in srcs]}


def build(spec: dict) -> Intervention:
    """The intervention of a checked spec (addresses become layer names and channels)."""
    kind = spec["kind"]
    if kind == "ablate_units":
        units = [parse_feature(u) for u in spec["units"]]
        return UnitAblation(kind, layer=units[0].layer, channels=[int(u.channel or 0) for u in units],
                            mode=spec.get("mode", "zero"))
    if kind in ("ablate_direction", "steer"):
        direction = spec["direction"]
        return DirectionEdit(kind, layer=parse_layer(direction["layer"]).layer,
                             vector=torch.tensor(direction["vector"], dtype=torch.float32),
                             mode=spec.get("mode", "zero"), scale=float(spec.get("scale", 1.0)))
    if kind == "edit_edges":
        edges = [(parse_feature(s), parse_feature(d)) for s, d in spec["edges"]]
        sources: dict[int, list[int]] = {}
        for s, d in edges:
            sources.setdefault(int(d.channel or 0), []).append(int(s.channel or 0))
        return EdgeEdit(kind, src=edges[0][0].layer, dst=edges[0][1].layer, sources=sources,
                        scale=float(spec.get("scale", 0.0)))
    return Intervention(kind)


def _matched(strength: np.ndarray, claimed: list[int], excluded: set[int], rng: np.random.Generator) -> list[int]:
    """For each claimed index, a random other index among the ``MATCH_POOL`` nearest to it
    in ``strength`` (none drawn twice, none of ``excluded``)."""
    if any(c >= len(strength) for c in claimed):
        raise InvalidInput(f"no unit {max(claimed)}: the layer has {len(strength)} channels")
    taken = set(excluded) | set(claimed)
    chosen = []
    for c in claimed:
        pool = [i for i in np.argsort(np.abs(strength - strength[c]), kind="stable") if int(i) not in taken]
        if not pool:
            raise InvalidInput("too few other units for a matched control: run it with \"control\": false")
        pick = int(pool[int(rng.integers(min(MATCH_POOL, len(pool))))])
        taken.add(pick)
        chosen.append(pick)
    return chosen


def edge_strength(model: nn.Module, dst: str, d: int, src_channels: int) -> np.ndarray:
    """The strength of each source channel's edge into unit ``d``: the norm of its kernel
    when ``dst`` is a convolution that reads the source layer's channels, else all equal
    (the control is then drawn uniformly)."""
    module = resolve_layers(model, [dst])[dst]
    if isinstance(module, nn.Conv2d) and module.groups == 1 and module.weight.shape[1] == src_channels:
        return module.weight[d].detach().flatten(1).norm(dim=1).cpu().numpy()
    return np.zeros(src_channels)


def control(intervention: Intervention, stats: dict[str, torch.Tensor], model: nn.Module,
            measured: tuple[str, int | None], rng: np.random.Generator) -> Intervention:
    """The same intervention on a matched random set: as many other units (similar mean
    response), other edges into the same destination units (similar kernel norm), or a
    random direction of the same norm."""
    if isinstance(intervention, UnitAblation):
        strength = stats[intervention.layer].flatten(1).mean(1).cpu().numpy()
        excluded = {measured[1]} if measured[0] == intervention.layer and measured[1] is not None else set()
        return UnitAblation(intervention.kind, layer=intervention.layer, mode=intervention.mode,
                            channels=_matched(strength, intervention.channels, excluded, rng))
    if isinstance(intervention, DirectionEdit):
        vector = torch.from_numpy(rng.standard_normal(len(intervention.vector)).astype(np.float32))
        return DirectionEdit(intervention.kind, layer=intervention.layer, mode=intervention.mode,
                             scale=intervention.scale, vector=vector * intervention.vector.norm() / vector.norm())
    if isinstance(intervention, EdgeEdit):
        channels = stats[intervention.src].shape[0]
        sources = {d: _matched(edge_strength(model, intervention.dst, d, channels), srcs, set(), rng)
                   for d, srcs in intervention.sources.items()}
        return EdgeEdit(intervention.kind, src=intervention.src, dst=intervention.dst, sources=sources,
                        scale=intervention.scale)
    raise InvalidInput("a plain measurement has no control")
