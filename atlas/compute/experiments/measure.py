"""The measurement of an experiment over its stimuli, batch by batch, with or without an
intervention's hooks: a unit's or a direction's response (max or mean over positions,
after or before the layer's rectification), or a class logit.

A pass stops right after the measured layer (a logit needs the whole model). ``site="pre"``
recomputes the layer's convolution from its tapped input, for layers that are a
``Conv2d`` (the demo's ``ConvReLU`` included); for others it is refused with one line.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from atlas.address import parse_feature, parse_layer
from atlas.compute.capture import eval_mode, model_device
from atlas.compute.experiments.interventions import Intervention
from atlas.compute.hooks import resolve_layers, tap
from atlas.errors import InvalidInput


@dataclass(frozen=True)
class Measurement:
    layer: str | None  # None: the model's output (a logit)
    channel: int | None  # a unit; None with a direction or a logit
    vector: torch.Tensor | None
    logit: int | None
    reduce: str
    site: str

    @classmethod
    def build(cls, spec: dict, classes: list[str] | None) -> Measurement:
        reduce, site = spec.get("reduce", "max"), spec.get("site", "post")
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

    def response(self, model: nn.Module, output: torch.Tensor, rows: slice) -> torch.Tensor:
        """(N,) responses from what the hook saw: the layer's output, or its input when
        ``site == "pre"`` (then recomputed through the layer's convolution)."""
        if self.layer is None:
            if self.logit is None or output.dim() != 2 or self.logit >= output.shape[1]:
                raise InvalidInput(f"the model's output has no logit {self.logit}")
            return output[rows, self.logit]
        if self.site == "pre":
            module = resolve_layers(model, [self.layer])[self.layer]
            if not isinstance(module, nn.Conv2d):
                raise InvalidInput(f"pre-activations of layer {self.layer} are not available here "
                                   "(only of a convolution's own output)")
            x = output[rows]
            if self.channel is not None:
                bias = module.bias[self.channel:self.channel + 1] if module.bias is not None else None
                if self.channel >= module.out_channels:
                    raise InvalidInput(f"layer {self.layer} has {module.out_channels} channels: no unit {self.channel}")
                maps = module._conv_forward(x, module.weight[self.channel:self.channel + 1], bias)[:, 0]
            else:
                maps = module(x) if type(module) is nn.Conv2d else module._conv_forward(x, module.weight, module.bias)
                maps = self._project(maps)
        else:
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
    layer = measurement.layer
    pre = measurement.site == "pre" and layer is not None
    layers = list(dict.fromkeys([*([layer] if layer and not pre else []), *hooks, *collect]))
    device = model_device(model)
    sums: dict[str, torch.Tensor] = {}
    seen: dict[str, torch.Tensor] = {}
    out: list[torch.Tensor] = []

    def keep(name: str, value: object) -> None:
        if name in collect and isinstance(value, torch.Tensor):
            sums[name] = sums.get(name, 0) + value[:current[0]].sum(0).cpu()
        if name == layer and isinstance(value, torch.Tensor):
            seen[name] = value

    def keep_input(name: str, args: tuple) -> None:
        seen[name] = args[0]

    current = [0]
    with eval_mode(model), tap(model, layers, inputs=[layer] if pre and layer else [], keep=keep,
                               keep_input=keep_input, replace=hooks,
                               stop_after=layer if layer and not collect else None) as taps:
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size].to(device)
            current[0] = len(batch)
            seen.clear()
            result = taps.run(batch)
            if layer is None:
                if not isinstance(result, torch.Tensor):
                    raise InvalidInput("the model's output is not a tensor of logits")
                out.append(measurement.response(model, result, slice(0, len(batch))).cpu())
                continue
            if layer not in seen:
                raise InvalidInput(f"layer {layer} did not run in the forward pass")
            copied = seen[layer].shape[0] > len(batch)  # between an edge edit's layers
            rows = intervention.rows(layer, measurement.channel, len(batch)) if copied else slice(0, len(batch))
            out.append(measurement.response(model, seen[layer], rows).cpu())
    return torch.cat(out).float(), {name: s / len(images) for name, s in sums.items()}
