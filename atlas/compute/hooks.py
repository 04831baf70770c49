"""Reading (and stopping) a forward pass: the one place the atlas registers torch hooks.

Capture, examples, connections, optvis and layer discovery all need the same thing: the
output (sometimes the input) of a few named modules during an ordinary forward pass of an
unmodified ``nn.Module``, often with the rest of the pass skipped once the last needed
layer has run. :func:`tap` does that and nothing else::

    with tap(model, ["mixed3a", "mixed3b"], stop_after="mixed3b") as taps:
        model(x)                      # stops right after mixed3b; the with block ends normally
    taps["mixed3a"], taps["mixed3b"]

    with tap(model, layers, stop_after=True) as taps:   # stop once every tapped layer ran
        for x in batches:
            taps.run(x)               # several passes in one registration (clears first)

The hooks are always removed when the block ends, also on an error. Stopping is done by
raising a private exception from the hook; it carries the :class:`Taps` that raised it,
so only that tap's block (or its :meth:`Taps.run`) swallows it and nested taps never
swallow each other's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from torch import nn

from atlas.errors import InvalidInput

Repeat = Literal["error", "first", "last"]
Keep = Callable[[str, Any], Any]

__all__ = ["Taps", "tap", "resolve_layers"]


class _StopForward(Exception):
    """Raised by a hook once the forward pass has given all that was asked of it."""

    def __init__(self, taps: Taps):
        super().__init__("forward pass stopped early by atlas.compute.hooks.tap")
        self.taps = taps


def resolve_layers(model: nn.Module, names: Iterable[str]) -> dict[str, nn.Module]:
    """``{name: module}`` for module paths of ``model``; one line naming the missing ones."""
    modules = dict(model.named_modules())
    wanted = list(dict.fromkeys(names))
    missing = [name for name in wanted if name not in modules]
    if missing:
        raise InvalidInput(f"model has no layer named {', '.join(map(str, missing[:5]))}")
    return {name: modules[name] for name in wanted}


class Taps:
    """What one :func:`tap` recorded: ``outputs`` and ``inputs`` by layer name (as
    ``keep``/``keep_input`` returned them), and whether the last pass was ``stopped``
    early. ``taps[name]`` is ``taps.outputs[name]``."""

    def __init__(self, model: nn.Module, outputs: Sequence[str], inputs: Sequence[str],
                 stop_after: str | bool | None, repeat: Repeat):
        self.model = model
        self.outputs: dict[str, Any] = {}
        self.inputs: dict[str, Any] = {}
        self.stopped = False
        self._output_names = tuple(outputs)
        self._input_names = tuple(inputs)
        self._stop_after = stop_after
        self._repeat = repeat

    def __getitem__(self, name: str) -> Any:
        return self.outputs[name]

    def __contains__(self, name: object) -> bool:
        return name in self.outputs

    def clear(self) -> None:
        """Forget what was recorded (before another pass)."""
        self.outputs.clear()
        self.inputs.clear()
        self.stopped = False

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """One forward pass ``model(*args, **kwargs)`` after :meth:`clear`; returns the
        model's output, or None if the pass was stopped early."""
        self.clear()
        try:
            return self.model(*args, **kwargs)
        except _StopForward as stop:
            if stop.taps is not self:
                raise
            return None

    def missing(self) -> list[str]:
        """Tapped layers whose output was not recorded in the last pass."""
        return [name for name in self._output_names if name not in self.outputs]

    # -- called from the hooks -------------------------------------------------------

    def _record(self, table: dict[str, Any], name: str, value: Any) -> None:
        if value is None:
            return
        if name in table:
            if self._repeat == "error":
                raise InvalidInput(f"layer {name} runs more than once per forward pass")
            if self._repeat == "first":
                return
        table[name] = value

    def _maybe_stop(self, name: str) -> None:
        if self._stop_after is True:
            done = (len(self.outputs) == len(self._output_names)
                    and len(self.inputs) == len(self._input_names))
        else:
            done = name == self._stop_after
        if done:
            self.stopped = True
            raise _StopForward(self)


@contextmanager
def tap(model: nn.Module, layers: Sequence[str], *, inputs: Sequence[str] = (),
        stop_after: str | bool | None = None, keep: Keep | None = None,
        keep_input: Keep | None = None, replace: Mapping[str, Callable[[Any], Any]] | None = None,
        repeat: Repeat = "error") -> Iterator[Taps]:
    """Hooks on the modules ``layers`` (outputs) and ``inputs`` (their positional inputs,
    read before the module runs, so an in-place op inside it cannot have changed them).

    ``stop_after``: a layer name (tapped if not in ``layers``) after whose output the
    forward pass stops, or True to stop once every tapped output and input is recorded;
    None runs the whole pass. ``keep(name, output)`` / ``keep_input(name, args)`` turn
    what a hook sees into what is recorded (reduce, clone, check; default: as is); None
    records nothing for that call. They are called on every call of the module;
    ``repeat`` says what a module that runs more than once per pass records: ``"error"``
    (refused: which call is meant would be ambiguous), ``"first"`` or ``"last"``.
    ``replace[name](output)`` becomes the output the rest of the model sees (and is what
    ``keep`` is given).
    """
    replace = dict(replace or {})
    wanted = list(dict.fromkeys(layers))
    if isinstance(stop_after, str) and stop_after not in wanted:
        wanted.append(stop_after)
    output_modules = resolve_layers(model, wanted)
    input_modules = resolve_layers(model, inputs)
    unknown = sorted(set(replace) - set(output_modules))
    if unknown:
        raise InvalidInput(f"cannot replace the output of untapped layers {', '.join(unknown)}")
    taps = Taps(model, list(output_modules), list(input_modules), stop_after, repeat)

    def on_output(name: str) -> Callable:
        change = replace.get(name)

        def hook(_module: nn.Module, _args: Any, output: Any) -> Any:
            if change is not None:
                output = change(output)
            taps._record(taps.outputs, name, keep(name, output) if keep else output)
            taps._maybe_stop(name)
            return output if change is not None else None
        return hook

    def on_input(name: str) -> Callable:
        def hook(_module: nn.Module, args: Any) -> None:
            taps._record(taps.inputs, name, keep_input(name, args) if keep_input else args)
            if stop_after is True:
                taps._maybe_stop(name)
        return hook

    handles = []
    try:
        for name, module in input_modules.items():
            handles.append(module.register_forward_pre_hook(on_input(name)))
        for name, module in output_modules.items():
            handles.append(module.register_forward_hook(on_output(name)))
        try:
            yield taps
        except _StopForward as stop:
            if stop.taps is not taps:
                raise
    finally:
        for handle in handles:
            handle.remove()
