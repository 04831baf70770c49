"""A registered model's input: the image shape it takes, the preprocessing that is part of
the model, and which of its modules are the atlas's layers. Checked without torch.

Everything the atlas feeds a model is an RGB image with values in [0, 1]: dataset images,
the images feature visualization optimizes, experiment stimuli, sweeps. A pretrained model
usually expects something else (ImageNet-normalized values, [-1, 1], [0, 255]); that
conversion is stored with the model, in its ``input_spec``, and applied as the model's
first step wherever a registered model is loaded (``atlas.compute.models.preprocess``), so
no caller can forget it and an optimized image stays an image.

The spec, as stored in the ``models.input_spec`` JSON column::

    {"shape": [3, H, W], "color": "RGB", "value_range": [0, 1],
     "preprocess": {"name": "imagenet", "mean": [...], "std": [...]}   # or {"scale": [A, B]}
     "layers": ["features.*.conv.2", ...],                            # the --layers patterns
     "classes": [...]}                                                # if the architecture names them

A spec can come from a bundle or a shared database, so :func:`check_input_spec` takes any
JSON value and returns it only if every field the atlas reads is well formed; fields it
does not know are kept as inert text. The CLI's option strings are parsed here too
(``parse_shape``, ``parse_numbers``), so a bad option is one line before torch loads.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence

from atlas.compute.datasets.spec import IMAGE_SIZES, bounded_int
from atlas.errors import InvalidInput

CHANNELS = 3  # RGB: what every dataset, sweep and visualization feeds
VALUE_RANGE = (0.0, 1.0)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NAMED_PREPROCESSING = {"imagenet": (IMAGENET_MEAN, IMAGENET_STD)}
MAX_ABS_VALUE = 1e6  # a mean, std or scale end beyond this is a typo, not a model
MIN_STD = 1e-6
MAX_LAYER_PATTERNS = 64
MAX_PATTERN_CHARS = 200
# Module paths are dotted names (``features.3.conv.2``); patterns add fnmatch's * ? [ ] !.
PATTERN_RE = re.compile(r"^[A-Za-z0-9_.*?\[\]!\-]+$")
MAX_CLASSES = 100_000
MAX_SPEC_CHARS = 4 * 1024 * 1024  # the whole spec as JSON (classes included)
_NUMBER_CHARS = 40


def parse_numbers(text: str, what: str, count: int) -> tuple[float, ...]:
    """``count`` comma-separated finite numbers (``0.485,0.456,0.406``), or one line."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != count:
        raise InvalidInput(f"{what} needs {count} comma-separated numbers, not {text!r}")
    numbers = []
    for part in parts:
        try:
            number = float(part) if len(part) <= _NUMBER_CHARS else math.nan
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or abs(number) > MAX_ABS_VALUE:
            raise InvalidInput(f"{what} must be finite numbers of at most {MAX_ABS_VALUE:g} in size, "
                               f"not {part!r}")
        numbers.append(number)
    return tuple(numbers)


def parse_shape(text: str) -> tuple[int, int, int]:
    """``C,H,W`` (``3,224,224``) as a checked shape."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 3:
        raise InvalidInput(f"input shape needs three comma-separated numbers C,H,W (e.g. 3,224,224), not {text!r}")
    return check_shape([bounded_int(p, "input shape", 1, IMAGE_SIZES[1]) for p in parts])


def check_shape(value: object) -> tuple[int, int, int]:
    """A channels-first image shape the atlas can feed: RGB, square, sides within the
    dataset sizes (datasets, sweeps and visualizations all make square images of the
    model's side)."""
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise InvalidInput(f"input shape must be [C, H, W], not {_short(value)}")
    low, high = IMAGE_SIZES
    c, h, w = (bounded_int(v, "input shape", 1, high) for v in value)
    if c != CHANNELS:
        raise InvalidInput(f"input shape {c}x{h}x{w}: the atlas feeds RGB images, so C must be {CHANNELS}")
    if h != w:
        raise InvalidInput(f"input shape {c}x{h}x{w}: the atlas feeds square images, so H and W must be equal")
    if h < low:
        raise InvalidInput(f"input shape {c}x{h}x{w}: sides must be from {low} to {high} pixels")
    return c, h, w


def _numbers(value: object, what: str, count: int) -> list[float]:
    if (not isinstance(value, (list, tuple)) or len(value) != count
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise InvalidInput(f"{what} must be a list of {count} numbers, not {_short(value)}")
    numbers = [float(v) for v in value]
    if not all(math.isfinite(v) and abs(v) <= MAX_ABS_VALUE for v in numbers):
        raise InvalidInput(f"{what} must be finite numbers of at most {MAX_ABS_VALUE:g} in size, not {_short(value)}")
    return numbers


def normalize(mean: Sequence[float], std: Sequence[float], name: str | None = None) -> dict:
    """The preprocessing ``(x - mean) / std`` per channel of an image in [0, 1]."""
    checked_std = _numbers(std, "std", CHANNELS)
    if min(checked_std) < MIN_STD:
        raise InvalidInput(f"std must be positive (at least {MIN_STD:g}), not {_short(list(std))}")
    return {**({"name": name} if name else {}), "mean": _numbers(mean, "mean", CHANNELS), "std": checked_std}


def scale(low: float, high: float) -> dict:
    """The preprocessing that maps [0, 1] linearly onto [low, high]."""
    low, high = _numbers([low, high], "scale", 2)
    if not low < high:
        raise InvalidInput(f"scale A,B maps [0, 1] onto [A, B], so A must be less than B, not {low:g},{high:g}")
    return {"scale": [low, high]}


def named(name: str) -> dict:
    if name not in NAMED_PREPROCESSING:
        raise InvalidInput(f"unknown preprocessing {name!r} (known: {', '.join(NAMED_PREPROCESSING)})")
    return normalize(*NAMED_PREPROCESSING[name], name=name)


def check_preprocess(value: object) -> dict:
    """A stored preprocessing: ``{"mean": [...], "std": [...]}`` (with an optional known
    ``name``) or ``{"scale": [A, B]}``."""
    if isinstance(value, dict) and set(value) == {"scale"}:
        return scale(*_numbers(value["scale"], "scale", 2))
    if isinstance(value, dict) and set(value) - {"name"} == {"mean", "std"}:
        name = value.get("name")
        if name is not None and name not in NAMED_PREPROCESSING:
            raise InvalidInput(f"unknown preprocessing name {_short(name)}")
        return normalize(value["mean"], value["std"], name)
    raise InvalidInput(f"preprocess must be {{mean, std}} or {{scale}}, not {_short(value)}")


def affine(preprocess: dict) -> tuple[list[float], list[float]]:
    """``(factor, offset)`` per channel: the preprocessing is ``x * factor + offset``."""
    checked = check_preprocess(preprocess)
    if "scale" in checked:
        low, high = checked["scale"]
        return [high - low] * CHANNELS, [low] * CHANNELS
    return [1 / s for s in checked["std"]], [-m / s for m, s in zip(checked["mean"], checked["std"])]


def describe_preprocess(preprocess: dict | None) -> str:
    """``imagenet``, ``mean 0.5,0.5,0.5 std 0.2,0.2,0.2``, ``scale -1,1`` or ``none``."""
    if not preprocess:
        return "none"
    if "scale" in preprocess:
        return "scale " + ",".join(f"{v:g}" for v in preprocess["scale"])
    if preprocess.get("name"):
        return str(preprocess["name"])
    return (f"mean {','.join(f'{v:g}' for v in preprocess['mean'])} "
            f"std {','.join(f'{v:g}' for v in preprocess['std'])}")


def check_layer_patterns(value: object) -> list[str]:
    """1 to ``MAX_LAYER_PATTERNS`` module-name globs (fnmatch), without repeats."""
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidInput(f"layer patterns must be a non-empty list, not {_short(value)}")
    if len(value) > MAX_LAYER_PATTERNS:
        raise InvalidInput(f"at most {MAX_LAYER_PATTERNS} layer patterns, not {len(value)}")
    for pattern in value:
        if (not isinstance(pattern, str) or not 0 < len(pattern) <= MAX_PATTERN_CHARS
                or not PATTERN_RE.match(pattern)):
            raise InvalidInput(f"invalid layer pattern {_short(pattern)}: a module path glob of letters, digits, "
                               f"'_', '-', '.' and * ? [ ] ! (at most {MAX_PATTERN_CHARS} characters)")
    return list(dict.fromkeys(value))


def _check_classes(value: object) -> list[str]:
    if (not isinstance(value, list) or len(value) > MAX_CLASSES
            or not all(isinstance(c, str) and len(c) <= 200 for c in value)):
        raise InvalidInput(f"classes must be a list of at most {MAX_CLASSES:,} names")
    return value


def build_input_spec(shape: Sequence[int], preprocess: dict | None = None, layers: Sequence[str] | None = None,
                     classes: Sequence[str] | None = None) -> dict:
    """The JSON a model is registered with (see the module doc)."""
    spec: dict = {"shape": list(check_shape(shape)), "color": "RGB", "value_range": list(VALUE_RANGE)}
    if preprocess:
        spec["preprocess"] = check_preprocess(preprocess)
    if layers is not None:
        spec["layers"] = check_layer_patterns(layers)
    if classes:
        spec["classes"] = _check_classes(list(classes))
    return spec


def check_input_spec(value: object) -> dict | None:
    """A stored or imported spec, returned unchanged if every field the atlas reads is well
    formed (``shape``, ``color``, ``value_range``, ``preprocess``, ``layers``,
    ``classes``); one line otherwise. None (no spec) is allowed."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise InvalidInput(f"input spec must be a JSON object, not {_short(value)}")
    try:
        size = len(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        raise InvalidInput("input spec is not plain JSON") from None
    if size > MAX_SPEC_CHARS:
        raise InvalidInput(f"input spec is {size:,} characters of JSON; at most {MAX_SPEC_CHARS:,}")
    if "shape" in value:
        check_shape(value["shape"])
    if "color" in value and value["color"] != "RGB":
        raise InvalidInput(f"input color must be RGB, not {_short(value['color'])}")
    if "value_range" in value and _numbers(value["value_range"], "value range", 2) != list(VALUE_RANGE):
        raise InvalidInput(f"input value range must be [0, 1], not {_short(value['value_range'])}")
    if "preprocess" in value and value["preprocess"] is not None:
        check_preprocess(value["preprocess"])
    if "layers" in value and value["layers"] is not None:
        check_layer_patterns(value["layers"])
    if "classes" in value and value["classes"] is not None:
        _check_classes(value["classes"])
    return value


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
