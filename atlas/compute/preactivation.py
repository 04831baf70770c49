"""Where a layer's pre-activation is: the value a unit computes before its nonlinearity.

The atlas studies a layer by the name of its output (``mixed3a``, ``conv5``), which for the
shipped models is rectified. Objectives and dataset statistics read the *pre-activation*
instead, as Lucid does with its ``*_pre_relu`` tensors: a ReLU output that is zero has no
gradient (an optimization started there never moves) and cannot say which image inhibits
a unit most (every one scores 0). A layer has two sites:

- ``"post"``: the output of the layer's module, as the model computes it;
- ``"pre"``: the input of its activation function. Found, in this order:

  1. a model's declaration ``atlas_pre_activations = {layer: (module, ...)}``: the
     activation modules (``nn.ReLU`` ...) whose *inputs*, concatenated along channels in
     that order, are the layer's pre-activation (InceptionV1: a mixed block's four branch
     ReLUs, in the order its ``Concat`` joins them; the demo CNNs: each ``ConvReLU``'s
     ``act``);
  2. a layer that is itself an activation module: its own input;
  3. otherwise (a conv, a linear layer, a concatenation, a block) the input of the
     activation *function* the layer's forward applies last, if its output is that
     function's result (``F.relu(super().forward(x))``, ``torch.relu(self.conv(x))``, an
     in-place ``relu_``), found by tracing (``atlas.compute.activation_trace``); if it
     is not, the layer's own output, which is already before any activation that follows
     it (``nn.Sequential(conv, nn.ReLU())`` studied at the conv), so ``pre`` and ``post``
     are the same tensor.

Reading either site goes through the one hook mechanism, ``atlas.compute.hooks.tap``
(outputs with forward hooks, inputs with pre-hooks, so an in-place activation has not yet
overwritten them), with the activation-function watch of rule 3 registered before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, cast

import torch
from torch import nn

from atlas.compute.activation_trace import needs_watching, watch_final_activations
from atlas.compute.hooks import Repeat, Taps, resolve_layers, tap
from atlas.errors import InvalidInput
from atlas.vocabulary import ACTIVATION_SITES

Site = Literal["pre", "post"]
SITES: tuple[str, ...] = ACTIVATION_SITES
Read = tuple[str, Site]  # (layer, site)
KeepTensor = Callable[[str, torch.Tensor], Any]

# Elementwise nonlinearities: a layer that is one of these has its input as pre-activation.
ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
    nn.SiLU, nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Sigmoid, nn.Tanh,
    nn.Softplus,
)


def check_site(site: str) -> Site:
    """``site`` if it is one of ``SITES``; one line otherwise."""
    if site not in SITES:
        raise InvalidInput(f"unknown activation site {site!r}; use one of {', '.join(SITES)}")
    return cast(Site, site)


@dataclass(frozen=True)
class Location:
    """Where one (layer, site) is read: the inputs (``from_inputs``) or the outputs of
    ``modules``, concatenated along channels in that order; ``watched``: the input of the
    activation function that produced the (one) module's output, if one did, else the
    output."""

    modules: tuple[str, ...]
    from_inputs: bool
    watched: bool = False


def locate(model: nn.Module, layer: str, site: str) -> Location:
    """Where ``layer``'s activation at ``site`` is (see the module doc for the rules)."""
    module = resolve_layers(model, [layer])[layer]
    if check_site(site) == "post":
        return Location((layer,), from_inputs=False)
    declared = getattr(model, "atlas_pre_activations", None) or {}
    if layer in declared:
        modules = tuple(declared[layer])
        resolve_layers(model, modules)
        return Location(modules, from_inputs=True)
    if isinstance(module, ACTIVATIONS):
        return Location((layer,), from_inputs=True)
    return Location((layer,), from_inputs=False, watched=needs_watching(model, layer, module))


class SiteTaps:
    """What :func:`tap_sites` recorded: ``values()`` is ``{(layer, site): tensor}``, each
    the recorded pieces concatenated along channels; ``taps`` is the underlying
    :class:`~atlas.compute.hooks.Taps` (its ``outputs``/``inputs`` by module name)."""

    def __init__(self, taps: Taps, locations: dict[Read, Location], watched: dict[str, Any]):
        self.taps = taps
        self.locations = locations
        self.watched = watched

    def run(self, *args: Any, **kwargs: Any) -> dict[Read, torch.Tensor]:
        """One forward pass (see :meth:`Taps.run`), then :meth:`values`."""
        self.taps.run(*args, **kwargs)
        return self.values()

    def missing(self) -> list[str]:
        """Layers some piece of which was not recorded in the last pass."""
        out = []
        for (layer, _site), where in self.locations.items():
            table = self.taps.inputs if where.from_inputs else self.taps.outputs
            if any(name not in table for name in where.modules) and layer not in out:
                out.append(layer)
        return out

    def values(self) -> dict[Read, torch.Tensor]:
        """``{(layer, site): tensor}`` of the last pass; one line if a layer did not run."""
        missing = self.missing()
        if missing:
            raise InvalidInput(f"layer {', '.join(missing)} did not run in the forward pass")
        out = {}
        for read, where in self.locations.items():
            if where.watched and read[0] in self.watched:
                out[read] = self.watched[read[0]]
                continue
            table = self.taps.inputs if where.from_inputs else self.taps.outputs
            parts = [table[name] for name in where.modules]
            out[read] = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return out


def _tensor(name: str, value: Any, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise InvalidInput(f"layer {name} does not {what} a single tensor")
    return value


@contextmanager
def tap_sites(model: nn.Module, reads: Sequence[Read], *, keep: KeepTensor | None = None,
              keep_input: KeepTensor | None = None, stop_after: bool = True,
              repeat: Repeat = "error",
              replace: Mapping[str, Callable[[Any], Any]] | None = None) -> Iterator[SiteTaps]:
    """Hooks that record each ``(layer, site)`` of ``reads`` in the forward passes run
    inside the block (``site_taps.run(x)``, or ``model(x)`` then ``site_taps.values()``).

    ``keep(module, output)`` and ``keep_input(module, input tensor)`` turn each recorded
    piece into what is kept: reduce, clone (default: as is). ``stop_after=True`` skips
    the rest of the pass once every piece is recorded. ``replace[module](output)`` (as
    ``atlas.compute.hooks.tap``'s) changes what the rest of the model sees, for modules
    whose output is read (an experiment's interventions).
    """
    locations = {(layer, check_site(site)): locate(model, layer, site) for layer, site in reads}
    outputs = [m for where in locations.values() if not where.from_inputs for m in where.modules]
    inputs = [m for where in locations.values() if where.from_inputs for m in where.modules]

    def keeper(then: KeepTensor | None, from_inputs: bool) -> Callable[[str, Any], Any]:
        def kept(name: str, value: Any) -> Any:
            tensor = (_tensor(name, value[0] if value else None, "take") if from_inputs
                      else _tensor(name, value, "output"))
            return then(name, tensor) if then is not None else tensor
        return kept

    watched = list(dict.fromkeys(layer for (layer, _), where in locations.items() if where.watched))
    # A watched pre-activation is a value read before an op ran: kept as an input is.
    with watch_final_activations(model, watched, keeper(keep_input, False),
                                 first_only=repeat == "first") as found, \
            tap(model, list(dict.fromkeys(outputs)), inputs=list(dict.fromkeys(inputs)),
                stop_after=stop_after or None, keep=keeper(keep, False), keep_input=keeper(keep_input, True),
                repeat=repeat, replace=replace) as taps:
        yield SiteTaps(taps, locations, found)
