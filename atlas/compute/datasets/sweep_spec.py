"""Parametric stimulus sweeps by name, checked without torch.

A sweep is a family of synthetic images that differ in one named parameter (an edge's
orientation, a curve's curvature, a grating's spatial frequency, a disc's hue, ...), the
stimuli of tuning curves and of the experiments that test circuit claims. A job or a
claim names its stimuli as JSON::

    {"sweep": "orientation", "steps": 36}
    {"sweep": "orientation", "steps": 18, "stimulus": "grating", "size": 64}

``check_sweep`` checks such a spec and returns it with every option filled in (so two
specs that mean the same images are the same JSON, and an artifact keyed by it is found
again); ``sweep_values`` gives the swept parameter's values. Both are plain Python: the
CLI, the job parameter checks and the app use them without loading torch. The images
themselves come from ``atlas.compute.datasets.sweeps.sweep_images``, which resolves each
kind's renderer (``render``, a ``module:function`` name) on first use.

Angles are in degrees, counterclockwise on screen (0 points right, 90 up), whatever the
image's row order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from atlas.compute.datasets.spec import IMAGE_SIZES, NUMBER_DIGITS, bounded_int
from atlas.errors import InvalidInput
from atlas.registry import Registry

MAX_SWEEP_STEPS = 1_000
DEFAULT_SWEEP_SIZE = 64
MAX_SWEEP_FLOATS = 2**28  # steps x 3 x size^2: 1 GiB of float32 for sweep_images at once
RENDERERS = "atlas.compute.datasets.sweeps"


@dataclass(frozen=True)
class Option:
    """One knob of a sweep that stays fixed along it: a word from ``choices``, or a
    number in [low, high]."""

    default: str | float
    choices: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 0.0

    def check(self, name: str, value: object) -> str | float:
        if self.choices:
            if value not in self.choices:
                raise InvalidInput(f"sweep option {name} must be one of {', '.join(self.choices)}, not {value!r}")
            return str(value)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or not self.low <= value <= self.high:  # type: ignore[operator]
            raise InvalidInput(f"sweep option {name} must be a number from {self.low:g} to {self.high:g}, "
                               f"not {value!r}")
        return float(value)  # type: ignore[arg-type]


Span = Callable[[Mapping, int], tuple[float, float]]


@dataclass(frozen=True)
class SweepKind:
    """What one sweep varies and how.

    ``span(options, size)`` gives the parameter's first and last value. A circular sweep
    (``cycle`` set) steps over [first, last) and ``cycle`` is the period its selectivity
    is measured over (180 for orientation, whose edges still cover 360 degrees to show
    both polarities); any other sweep steps over [first, last], on a log scale if
    ``log``. ``render`` names the ``(size, value, options) -> HxWx3 array`` function.
    """

    parameter: str
    unit: str
    span: Span
    render: str
    about: str
    cycle: float | None = None
    log: bool = False
    options: Mapping[str, Option] = field(default_factory=dict)


SWEEPS: Registry[SweepKind] = Registry("sweep", error=InvalidInput)
"""The sweeps by name (``atlas.registry``: a plugin registers its own)."""


def _fixed(first: float, last: float) -> Span:
    return lambda _options, _size: (first, last)


ANGLE = Option(0.0, low=0.0, high=360.0)
SWEEPS.register("orientation", SweepKind(
    "orientation", "degrees", lambda o, _size: (0.0, 360.0 if o["stimulus"] == "edge" else 180.0),
    f"{RENDERERS}:orientation", "an edge (light side at orientation + 90), line or grating through the "
    "centre, rotated; selectivity over 180 degrees", cycle=180.0,
    options={"stimulus": Option("edge", choices=("edge", "line", "grating"))}))
SWEEPS.register("curvature", SweepKind(
    "curvature", "1 / radius, in image widths", _fixed(0.0, 8.0), f"{RENDERERS}:curvature",
    "an arc of fixed length (0.6 image widths) through the centre, from straight to a radius of 1/8 "
    "image width, bulging towards orientation", options={"orientation": ANGLE}))
SWEEPS.register("curve_orientation", SweepKind(
    "orientation", "degrees", _fixed(0.0, 360.0), f"{RENDERERS}:curve_orientation",
    "an arc through the centre bulging towards the angle (0: a right-facing curve, 180: left-facing)",
    cycle=360.0, options={"curvature": Option(4.0, low=0.5, high=8.0)}))
SWEEPS.register("frequency", SweepKind(
    "frequency", "cycles per image", lambda _o, size: (1.0, max(1.0, size / 4)), f"{RENDERERS}:frequency",
    "a sinusoidal grating, from one cycle per image to a period of 4 pixels", log=True,
    options={"orientation": ANGLE}))
SWEEPS.register("hue", SweepKind(
    "hue", "degrees", _fixed(0.0, 360.0), f"{RENDERERS}:hue",
    "a saturated disc (radius 0.3 image widths) on mid grey, around the hue circle", cycle=360.0))
SWEEPS.register("position", SweepKind(
    "position", "image widths from the centre", _fixed(-0.4, 0.4), f"{RENDERERS}:position",
    "a soft light spot moved along an axis (x: rightwards, y: upwards)",
    options={"axis": Option("x", choices=("x", "y"))}))
SWEEPS.register("size", SweepKind(
    "size", "diameter, in image widths", _fixed(1 / 16, 1.0), f"{RENDERERS}:size_sweep",
    "a light disc on dark, growing", log=True))
SWEEPS.register("facing", SweepKind(
    "facing", "degrees", _fixed(0.0, 360.0), f"{RENDERERS}:facing",
    "a head with a snout, pointing at the angle (0: right-facing, 180: left-facing)", cycle=360.0))
SWEEPS.register("high_low", SweepKind(
    "orientation", "degrees", _fixed(0.0, 360.0), f"{RENDERERS}:high_low",
    "a high-low frequency boundary through the centre; the high-frequency side lies at the angle",
    cycle=360.0))

SPEC_KEYS = frozenset({"sweep", "steps", "size"})


def check_sweep(spec: object) -> dict:
    """The spec with its options filled in, or one line saying what is wrong (an unknown
    sweep or option, steps outside 1 to ``MAX_SWEEP_STEPS``, a bad size)."""
    if not isinstance(spec, dict):
        raise InvalidInput(f"a sweep spec must be an object like {{\"sweep\": \"orientation\", \"steps\": 36}}, "
                           f"not {spec!r}")
    name = spec.get("sweep")
    if not isinstance(name, str):
        raise InvalidInput(f"a sweep spec needs a sweep name ({', '.join(SWEEPS.names())}), not {name!r}")
    kind = SWEEPS.get(name)
    unknown = sorted(set(spec) - SPEC_KEYS - set(kind.options))
    if unknown:
        known = ", ".join(sorted(SPEC_KEYS | set(kind.options)))
        raise InvalidInput(f"unknown fields {unknown} in the {name} sweep spec (known: {known})")
    steps = bounded_int(spec.get("steps"), "sweep steps", 1, MAX_SWEEP_STEPS)
    out: dict = {"sweep": name, "steps": steps}
    if "size" in spec:
        out["size"] = bounded_int(spec["size"], "sweep image size", *IMAGE_SIZES)
    for option, definition in kind.options.items():
        out[option] = definition.check(option, spec.get(option, definition.default))
    return out


def sweep_values(spec: dict, size: int | None = None) -> list[float]:
    """The swept parameter's value at each step of a checked spec (``size``: the image
    side when the spec names none)."""
    kind = SWEEPS.get(spec["sweep"])
    steps = int(spec["steps"])
    first, last = kind.span(spec, int(spec.get("size", size or DEFAULT_SWEEP_SIZE)))
    if kind.cycle is not None:
        return [first + (last - first) * i / steps for i in range(steps)]
    if steps == 1:
        return [first]
    if kind.log:
        return [first * (last / first) ** (i / (steps - 1)) for i in range(steps)]
    return [first + (last - first) * i / (steps - 1) for i in range(steps)]


def check_sweep_memory(steps: int, size: int) -> None:
    """Refuse a sweep too large to hold at once (``sweep_images``; streaming has no limit)."""
    if steps * 3 * size * size > MAX_SWEEP_FLOATS:
        raise InvalidInput(f"a sweep of {steps} steps at {size} px is {steps * 3 * size * size * 4 / 2**30:.1f} "
                           "GiB of images; use fewer steps or a smaller size")


def parse_sweep(name: str, steps: object, words: Sequence[str] = ()) -> dict:
    """The CLI form (``--sweep orientation --steps 36 --option stimulus=line``) as a
    checked spec; a number option's text is read as a number."""
    options: dict[str, object] = {}
    kind = SWEEPS.get(name)
    for word in words:
        key, sep, text = word.partition("=")
        if not sep or not key:
            raise InvalidInput(f"invalid sweep option {word!r}: use KEY=VALUE, e.g. stimulus=line")
        option = kind.options.get(key)
        options[key] = _number(text) if option is not None and not option.choices else text
    return check_sweep({"sweep": name, "steps": steps, **options})


def _number(text: str) -> object:
    """``text`` as a float when it reads as one (else as is, for the check to refuse)."""
    try:
        return float(text) if len(text) <= NUMBER_DIGITS * 2 else text
    except ValueError:
        return text
