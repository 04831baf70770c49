"""The measurement of an experiment over its stimuli, batch by batch, with or without an
intervention's hooks: a unit's or a direction's response (max or mean over positions,
after or before the layer's rectification), or a class logit.

A pass stops once the measured layer and the intervention's layers are read (a logit
needs the whole model). Both sites are read by ``atlas.compute.preactivation.tap_sites``,
the taps every statistic uses: ``"pre"`` is the input of the layer's activation (a model's
declared pre-activation taps, such as InceptionV1's branch ReLUs), ``"post"`` its output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from atlas.address import parse_feature, parse_layer
from atlas.compute.capture import eval_mode, model_device
from atlas.compute.experiments.interventions import Intervention
from atlas.compute.preactivation import Read, Site, check_site, tap_sites
from atlas.errors import InvalidInput


@dataclass(frozen=True)
class Measurement:
    layer: str | None  # None: the model's output (a logit)
    channel: int | None  # a unit; None with a direction or a logit
    vector: torch.Tensor | None
    logit: int | None
    reduce: str
    site: Site

    @classmethod
    def build(cls, spec: dict, classes: list[str] | None) -> Measurement:
        reduce, site = spec.get("reduce", "max"), check_site(spec.get("site", "post"))
        if "unit" in spec:
            unit = parse_feature(spec["unit"])
            return cls(unit.layer, unit.channel, None, None, reduce, site)
        if "direction" in spec:
            layer = parse_layer(spec["direction"]["layer"]).layer
            return cls(layer, None, torch.tensor(spec["direction"]["vector"], dtype=torch.float32), None, reduce, site)
        logit = spec["logit"]
        if isinstance(logit, str):
            if not classes or logit not in classes:
                raise InvalidInput(f"the model has no class named {logit!r}")
            logit = classes.index(logit)
        return cls(None, None, None, int(logit), reduce, site)

    def response(self, output: torch.Tensor, rows: slice) -> torch.Tensor:
        """(N,) responses from what the taps read: the model's output (a logit), or the
        measured layer's activation at the measured site."""
        if self.layer is None:
            if self.logit is None or output.dim() != 2 or self.logit >= output.shape[1]:
                raise InvalidInput(f"the model's output has no logit {self.logit}")
            return output[rows, self.logit]
        x = output[rows]
        if self.channel is not None:
            if x.dim() < 2 or self.channel >= x.shape[1]:
                raise InvalidInput(f"layer {self.layer} has {x.shape[1]} channels: no unit {self.channel}")
            maps = x[:, self.channel]
        else:
            maps = self._project(x)
        flat = maps.flatten(1) if maps.dim() > 1 else maps[:, None]
        return flat.amax(1) if self.reduce == "max" else flat.mean(1)

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        assert self.vector is not None  # a direction
        if x.dim() < 2 or x.shape[1] != len(self.vector):
            raise InvalidInput(f"a direction of {len(self.vector)} components does not fit layer {self.layer}")
        return (x * self.vector.to(x).reshape(1, -1, *([1] * (x.dim() - 2)))).sum(1)


@torch.no_grad()
def measure(model: nn.Module, images: torch.Tensor, measurement: Measurement, intervention: Intervention,
            stats: dict[str, torch.Tensor] | None, batch_size: int = 128,
            collect: tuple[str, ...] = ()) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(N,) responses on the CPU, with ``intervention``'s hooks when ``stats`` is given
    (None: the unchanged model); also the mean map over the images of each layer in
    ``collect`` (what mean ablations and matched controls need)."""
    hooks = intervention.hooks(stats) if stats is not None else {}
    post: Site = "post"
    read: Read | None = (measurement.layer, measurement.site) if measurement.layer is not None else None
    reads = list(dict.fromkeys([*([read] if read else []), *((name, post) for name in [*hooks, *collect])]))
    device = model_device(model)
    sums: dict[str, torch.Tensor] = {}
    out: list[torch.Tensor] = []
    current = [0]

    def keep(name: str, value: torch.Tensor) -> torch.Tensor:
        if name in collect:
            sums[name] = sums.get(name, 0) + value[:current[0]].sum(0).cpu()
        return value

    with eval_mode(model), tap_sites(model, reads, keep=keep, replace=hooks, stop_after=read is not None) as taps:
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size].to(device)
            current[0] = len(batch)
            result = taps.taps.run(batch)
            if read is None:
                if not isinstance(result, torch.Tensor):
                    raise InvalidInput("the model's output is not a tensor of logits")
                out.append(measurement.response(result, slice(0, len(batch))).cpu())
                continue
            seen = taps.values()[read]
            copied = seen.shape[0] > len(batch)  # between an edge edit's layers
            rows = intervention.rows(read[0], measurement.channel, len(batch)) if copied else slice(0, len(batch))
            out.append(measurement.response(seen, rows).cpu())
    return torch.cat(out).float(), {name: s / len(images) for name, s in sums.items()}
