"""A claim's experiment as data: what to change, on which images, what to measure, what
should happen, and the control that says whether it is specific.

Checked without torch, when a claim is added (the catalogue) and when its job is queued,
so a malformed or hostile spec is refused with one line before anything runs. The
executor (``atlas.compute.experiments``) reads only what :func:`check_experiment`
accepted. The schema, by example (docs/experiments.md has it all)::

    {"intervention": {"kind": "edit_edges", "scale": 0.0,
                      "edges": [["demo/conv3/37", "demo/conv4/58"]]},
     "stimuli": {"dataset": {"kind": "synthetic", "n": 450, "seed": 7, "size": 64}},
     "measure": {"unit": "demo/conv4/58", "reduce": "max", "site": "post"},
     "prediction": [{"condition": "circle", "op": "<=", "value": -0.5},
                    {"condition": "!circle", "op": "abs<=", "value": 0.1}],
     "control": {"draws": 1}, "seed": 0}
"""

from __future__ import annotations

import math

from atlas.address import FeatureAddress, LayerAddress, parse_feature, parse_layer
from atlas.bounds import check_int
from atlas.compute.datasets.spec import MAX_SEED, check_dataset
from atlas.errors import InvalidInput

INTERVENTIONS = ("none", "ablate_units", "ablate_direction", "edit_edges", "steer")
ABLATIONS = ("zero", "mean")
REDUCES = ("max", "mean")
SITES = ("post", "pre")
OPS = ("<=", ">=", "abs<=", "abs>=")
QUANTITIES = ("change", "response")  # relative change after/before, or the response before
SWEEPS = ("orientation",)  # sweeps the executor knows; the tuning sweeps add theirs here
MAX_EDGES = 256
MAX_UNITS = 1024
MAX_VECTOR = 8192
MAX_COMPARISONS = 16
MAX_DRAWS = 20
MAX_STIMULI = 20_000
MAX_SCALE = 1e3
CONDITION_CHARS = 100


def _object(value: object, what: str, known: set[str], required: tuple[str, ...] = ()) -> dict:
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be an object, not {_short(value)}")
    unknown = sorted(map(str, set(value) - known))
    if unknown:
        raise InvalidInput(f"unknown fields {unknown[:5]} in {what} (known: {', '.join(sorted(known))})")
    missing = [key for key in required if key not in value]
    if missing:
        raise InvalidInput(f"{what} needs {', '.join(missing)}")
    return value


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _choice(value: object, what: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(f"{what} must be one of {', '.join(choices)}, not {_short(value)}")
    return value


def _number(value: object, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise InvalidInput(f"{what} must be a finite number from {low:g} to {high:g}, not {_short(value)}")
    return float(value)


def _unit(text: object, what: str) -> FeatureAddress:
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be a unit address such as model/layer/7, not {_short(text)}")
    address = parse_feature(text)
    if address.channel is None:
        raise InvalidInput(f"{what} must be a unit (model/layer/N), not the direction {text!r}")
    return address


def _list(value: object, what: str, maximum: int) -> list:
    if not isinstance(value, list) or not value or len(value) > maximum:
        raise InvalidInput(f"{what} must be a list of 1 to {maximum} items, not {_short(value)}")
    return value


def _direction(value: object, what: str) -> LayerAddress:
    spec = _object(value, what, {"layer", "vector"}, ("layer", "vector"))
    layer = parse_layer(spec["layer"]) if isinstance(spec["layer"], str) else None
    if layer is None:
        raise InvalidInput(f"{what} needs a layer address such as model/layer")
    vector = _list(spec["vector"], f"the vector of {what}", MAX_VECTOR)
    for x in vector:
        _number(x, f"a component of {what}", -MAX_SCALE, MAX_SCALE)
    if not any(vector):
        raise InvalidInput(f"{what} is the zero vector")
    return layer


def _check_intervention(value: object) -> set[str]:
    """The models the intervention names."""
    kind = _choice(_object(value, "the intervention", {"kind", "units", "edges", "mode", "scale", "direction"},
                           ("kind",))["kind"], "the intervention kind", INTERVENTIONS)
    assert isinstance(value, dict)
    allowed = {"none": {"kind"}, "ablate_units": {"kind", "units", "mode"},
               "ablate_direction": {"kind", "direction", "mode"}, "edit_edges": {"kind", "edges", "scale"},
               "steer": {"kind", "direction", "scale"}}[kind]
    _object(value, f"a {kind} intervention", allowed, tuple(sorted(allowed - {"mode", "scale"})))
    if "mode" in value:
        _choice(value["mode"], "the ablation mode", ABLATIONS)
    if kind == "ablate_units":
        units = [_unit(u, "an ablated unit") for u in _list(value["units"], "the ablated units", MAX_UNITS)]
        if len({(u.model, u.layer) for u in units}) != 1:
            raise InvalidInput("the ablated units must all be in one layer")
        return {units[0].model}
    if kind in ("ablate_direction", "steer"):
        if kind == "steer":
            _number(value.get("scale", 1.0), "the steering scale", -MAX_SCALE, MAX_SCALE)
        return {_direction(value["direction"], "the direction").model}
    if kind == "edit_edges":
        _number(value.get("scale", 0.0), "the edge scale (0 zeroes the edges)", 0.0, MAX_SCALE)
        edges = []
        for edge in _list(value["edges"], "the edited edges", MAX_EDGES):
            if not isinstance(edge, list) or len(edge) != 2:
                raise InvalidInput(f"an edge must be [source unit, destination unit], not {_short(edge)}")
            edges.append((_unit(edge[0], "an edge's source"), _unit(edge[1], "an edge's destination")))
        pairs = {(s.model, s.layer, d.model, d.layer) for s, d in edges}
        if len(pairs) != 1:
            raise InvalidInput("the edited edges must all go from one source layer to one destination layer")
        model, src, dst_model, dst = pairs.pop()
        if model != dst_model or src == dst:
            raise InvalidInput("an edited edge goes from one layer to another layer of the same model")
        if len(set(map(tuple, value["edges"]))) != len(edges):
            raise InvalidInput("an edge is edited twice")
        return {model}
    return set()


def _check_stimuli(value: object) -> None:
    if isinstance(value, dict) and "sweep" in value:
        spec = _object(value, "a sweep", {"sweep", "steps", "samples", "seed", "size"}, ("sweep",))
        _choice(spec["sweep"], "the sweep", SWEEPS)
        steps = check_int(spec.get("steps", 36), "sweep steps", 2, 360)
        samples = check_int(spec.get("samples", 8), "samples per sweep step", 1, 1000)
        check_int(spec.get("seed", 0), "the sweep seed", 0, MAX_SEED)
        if "size" in spec:
            check_int(spec["size"], "the sweep image size", 8, 4096)
        if steps * samples > MAX_STIMULI:
            raise InvalidInput(f"a sweep of {steps * samples:,} images is more than {MAX_STIMULI:,}")
        return
    spec = _object(value, "the stimuli (a sweep or a dataset)", {"dataset"}, ("dataset",))
    dataset = check_dataset(spec["dataset"])
    if dataset["kind"] == "synthetic" and dataset["n"] > MAX_STIMULI:
        raise InvalidInput(f"an experiment takes at most {MAX_STIMULI:,} stimuli, not {dataset['n']:,}")


def _check_measure(value: object) -> set[str]:
    spec = _object(value, "the measurement", {"unit", "direction", "logit", "reduce", "site"})
    targets = [key for key in ("unit", "direction", "logit") if key in spec]
    if len(targets) != 1:
        raise InvalidInput("the measurement names exactly one of unit, direction or logit")
    _choice(spec.get("reduce", "max"), "the measurement's reduction over positions", REDUCES)
    _choice(spec.get("site", "post"), "the measurement site", SITES)
    if "unit" in spec:
        return {_unit(spec["unit"], "the measured unit").model}
    if "direction" in spec:
        return {_direction(spec["direction"], "the measured direction").model}
    logit = spec["logit"]
    if isinstance(logit, int) and not isinstance(logit, bool):
        check_int(logit, "the measured logit", 0, 1_000_000)
    elif not isinstance(logit, str) or not 0 < len(logit) <= CONDITION_CHARS:
        raise InvalidInput(f"the measured logit is a class index or name, not {_short(logit)}")
    return set()


def _check_prediction(value: object, intervention: str) -> None:
    for comparison in _list(value, "the prediction (a list of comparisons)", MAX_COMPARISONS):
        spec = _object(comparison, "a comparison", {"condition", "op", "value", "of"}, ("condition", "op", "value"))
        condition = spec["condition"]
        if not isinstance(condition, str) or not 0 < len(condition) <= CONDITION_CHARS \
                or not condition.isprintable():
            raise InvalidInput(f"a comparison's condition is a stimulus condition name, not {_short(condition)}")
        _choice(spec["op"], "a comparison's op", OPS)
        quantity = _choice(spec.get("of", "change"), "what a comparison compares", QUANTITIES)
        _number(spec["value"], "a comparison's value", -1e9, 1e9)
        if quantity == "change" and intervention == "none":
            raise InvalidInput("a plain measurement (intervention none) changes nothing: compare its response")


def check_experiment(spec: object) -> dict:
    """``spec`` if it is a runnable experiment; one line naming the first problem."""
    spec = _object(spec, "an experiment", {"intervention", "stimuli", "measure", "prediction", "control", "seed"},
                   ("intervention", "stimuli", "measure", "prediction"))
    models = _check_intervention(spec["intervention"]) | _check_measure(spec["measure"])
    if len(models) > 1:
        raise InvalidInput(f"an experiment runs on one model, not {', '.join(sorted(models))}")
    _check_stimuli(spec["stimuli"])
    _check_prediction(spec["prediction"], spec["intervention"]["kind"])
    control = spec.get("control", {"draws": 1})
    if control is not False:
        _object(control, "the control (an object, or false for none)", {"draws"})
        check_int(control.get("draws", 1), "control draws", 1, MAX_DRAWS)
    check_int(spec.get("seed", 0), "the experiment seed", 0, MAX_SEED)
    return spec


def experiment_model(spec: dict) -> str | None:
    """The model a checked experiment runs on (None when it names only a logit)."""
    intervention, measure = spec["intervention"], spec["measure"]
    addresses = [*intervention.get("units", []), *(edge[0] for edge in intervention.get("edges", [])),
                 *(part["direction"]["layer"] for part in (intervention, measure) if "direction" in part),
                 *([measure["unit"]] if "unit" in measure else [])]
    return addresses[0].split("/", 1)[0] if addresses else None
