"""Checking a job's parameters when it is queued, one validator per job kind.

A bad parameter (a negative size, a NaN learning rate, ``synthetic:-5``) is refused with
one line at enqueue, before anything is written, instead of failing on a worker three
attempts later. Kept free of torch, like the rest of enqueueing. The validators check the
caller's parameters; the chunk helpers add ``model``, ``layer`` and ``units`` themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from atlas.compute.datasets.spec import MAX_SEED, bounded_int, check_dataset
from atlas.compute.datasets.sweep_spec import check_sweep
from atlas.errors import InvalidInput
from atlas.experiments.spec import check_experiment
from atlas.vocabulary import ACTIVATION_SITES, EDGE_KINDS, MAX_FACTORS, VIS_KINDS

PARAMETERIZATION_NAMES = ("fourier", "pixel")
MAX_K = 1_000
MAX_CHUNK_UNITS = 10_000
MAX_LR = 10.0
MAX_COSSIM_POW = 10.0
MAX_NMF_ITERATIONS = 10_000
MAX_NMF_ROWS = 1_000_000  # activation vectors (images x positions) a factorization reads
MAX_DATASET_INDEX = 10**9
MAX_COMPARE_SWEEPS = 32  # sweeps in one comparison's stimulus set
MAX_LAYERS = 1_000  # layers of one model a comparison reads

Validator = Callable[[dict], None]
_VALIDATORS: dict[str, Validator] = {}


def validator(kind: str) -> Callable[[Validator], Validator]:
    """Register the parameter check of job kind ``kind`` (a plugin kind registers its own)."""

    def register(check: Validator) -> Validator:
        _VALIDATORS[kind] = check
        return check

    return register


def check_params(kind: str, params: object) -> dict:
    """``params`` if they are valid for ``kind``; unknown kinds are refused."""
    check = _VALIDATORS.get(kind)
    if check is None:
        raise InvalidInput(f"unknown job kind {kind!r} (known: {', '.join(sorted(_VALIDATORS))})")
    if not isinstance(params, dict):
        raise InvalidInput(f"parameters of a {kind} job must be an object, not {params!r}")
    check(params)
    return params


def check_chunk_size(chunk_size: object) -> int:
    return bounded_int(chunk_size, "chunk size", 1, MAX_CHUNK_UNITS)


def _known_keys(params: dict, allowed: set[str], what: str) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InvalidInput(f"unknown {what} parameters {unknown} (known: {', '.join(sorted(allowed))})")


def _flag(params: dict, name: str) -> None:
    if not isinstance(params.get(name, False), bool):
        raise InvalidInput(f"{name} must be true or false, not {params[name]!r}")


def _number(value: object, what: str, low: float, high: float, low_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (low < value if low_open else low <= value) or value > high:
        bracket = "(" if low_open else "["
        raise InvalidInput(f"{what} must be a finite number in {bracket}{low:g}, {high:g}], not {value!r}")


def _k(params: dict) -> None:
    bounded_int(params.get("k"), "k", 1, MAX_K)


@validator("vis")
def check_vis(params: dict) -> None:
    _known_keys(params, {"kinds", "render", "force", "max_batch"}, "vis")
    kinds = params.get("kinds")
    if not isinstance(kinds, list) or not kinds or any(kind not in VIS_KINDS for kind in kinds):
        raise InvalidInput(f"visualization kinds must be some of {', '.join(VIS_KINDS)}, not {kinds!r}")
    render = params.get("render", {})
    if not isinstance(render, dict):
        raise InvalidInput(f"render parameters must be an object, not {render!r}")
    _known_keys(render, {"size", "steps", "lr", "seed", "param", "diversity_n", "diversity_weight", "site",
                         "cossim_pow"},
                "render")
    bounded_int(render.get("size", 128), "size", 16, 1024)
    bounded_int(render.get("steps", 512), "steps", 1, 10_000)
    _number(render.get("lr", 0.05), "lr", 0.0, MAX_LR, low_open=True)
    bounded_int(render.get("seed", 0), "seed", 0, MAX_SEED)
    if render.get("param", "fourier") not in PARAMETERIZATION_NAMES:
        raise InvalidInput(f"param must be one of {', '.join(PARAMETERIZATION_NAMES)}, not {render['param']!r}")
    bounded_int(render.get("diversity_n", 4), "diversity_n", 1, 64)
    if render.get("site", "pre") not in ACTIVATION_SITES:
        raise InvalidInput(f"site must be one of {', '.join(ACTIVATION_SITES)}, not {render['site']!r}")
    _number(render.get("diversity_weight", 0.2), "diversity_weight", 0.0, 1e6)
    _number(render.get("cossim_pow", 0.0), "cossim_pow", 0.0, MAX_COSSIM_POW)
    bounded_int(params.get("max_batch", 64), "max_batch", 1, 4096)
    _flag(params, "force")


@validator("examples")
def check_examples(params: dict) -> None:
    _known_keys(params, {"dataset", "k", "force"}, "examples")
    _k(params)
    check_dataset(params.get("dataset"))
    _flag(params, "force")


@validator("tuning")
def check_tuning(params: dict) -> None:
    _known_keys(params, {"sweep", "force"}, "tuning")
    check_sweep(params.get("sweep"))
    _flag(params, "force")


@validator("connections")
def check_connections(params: dict) -> None:
    _known_keys(params, {"src", "kind", "k", "force", "dataset"}, "connections")
    if params.get("kind") not in EDGE_KINDS:
        raise InvalidInput(f"unknown connection kind {params.get('kind')!r} ({', '.join(EDGE_KINDS)})")
    if not isinstance(params.get("src"), str):
        raise InvalidInput(f"connections need a source layer name, not {params.get('src')!r}")
    _k(params)
    _flag(params, "force")
    # Attribution averages over a dataset; expanded weights may name the one whose mean
    # activations local response normalization is linearized at.
    if params["kind"] == "attribution" or (params["kind"] == "expanded" and "dataset" in params):
        check_dataset(params.get("dataset"))
    elif "dataset" in params:
        raise InvalidInput(f"{params['kind']} connections take no dataset")


@validator("connections.directions")
def check_direction_connections(params: dict) -> None:
    _known_keys(params, {"model", "layer", "other", "side", "kind", "k", "directions", "force", "dataset"},
                "connections.directions")
    for key in ("model", "layer", "other"):
        if not isinstance(params.get(key), str) or not params[key]:
            raise InvalidInput(f"direction connections need a {key} name, not {params.get(key)!r}")
    if params.get("side") not in ("in", "out"):
        raise InvalidInput(f"a direction's connections are 'in' or 'out', not {params.get('side')!r}")
    if params.get("kind") not in ("direct", "expanded"):
        raise InvalidInput(f"directions have direct or expanded connections, not {params.get('kind')!r}")
    names = params.get("directions")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise InvalidInput(f"direction connections need a list of direction names, not {names!r}")
    _k(params)
    _flag(params, "force")
    if "dataset" in params:
        if params["kind"] != "expanded":
            raise InvalidInput("direct connections take no dataset")
        check_dataset(params["dataset"])


@validator("directions.diff")
def check_direction_diff(params: dict) -> None:
    _known_keys(params, {"name", "a", "b"}, "directions.diff")
    if not isinstance(params.get("name"), str):
        raise InvalidInput(f"a difference of means needs a direction name, not {params.get('name')!r}")
    check_dataset(params.get("a"))
    check_dataset(params.get("b"))


@validator("directions.nmf")
def check_direction_nmf(params: dict) -> None:
    _known_keys(params, {"n", "dataset", "prefix", "seed", "iterations", "max_rows"}, "directions.nmf")
    bounded_int(params.get("n"), "number of factors", 1, MAX_FACTORS)
    check_dataset(params.get("dataset"))
    if not isinstance(params.get("prefix", "nmf"), str):
        raise InvalidInput(f"prefix must be text, not {params['prefix']!r}")
    bounded_int(params.get("seed", 0), "seed", 0, MAX_SEED)
    bounded_int(params.get("iterations", 500), "iterations", 1, MAX_NMF_ITERATIONS)
    bounded_int(params.get("max_rows", 200_000), "max_rows", 1, MAX_NMF_ROWS)


@validator("experiment")
def check_experiment_params(params: dict) -> None:
    _known_keys(params, {"claim_id", "model", "experiment", "author"}, "experiment")
    bounded_int(params.get("claim_id"), "claim id", 1, 2**63 - 1)
    for key in ("model", "author"):
        if not isinstance(params.get(key), str) or not params[key]:
            raise InvalidInput(f"an experiment job needs a {key} name, not {params.get(key)!r}")
    check_experiment(params.get("experiment"))


def check_stimuli(stimuli: object) -> dict:
    """A comparison's stimulus set: ``{"dataset": spec or None, "sweeps": [spec, ...]}``,
    at least one of them, every spec checked."""
    if not isinstance(stimuli, dict):
        raise InvalidInput(f"a stimulus set must be an object, not {stimuli!r}")
    _known_keys(stimuli, {"dataset", "sweeps"}, "stimulus set")
    sweeps = stimuli.get("sweeps", [])
    if not isinstance(sweeps, list) or len(sweeps) > MAX_COMPARE_SWEEPS:
        raise InvalidInput(f"sweeps must be a list of at most {MAX_COMPARE_SWEEPS} sweep specs")
    for sweep in sweeps:
        check_sweep(sweep)
    if stimuli.get("dataset") is not None:
        check_dataset(stimuli["dataset"])
    elif not sweeps:
        raise InvalidInput("a comparison needs a dataset, sweeps or both")
    return stimuli


def _layer_address(value: object, what: str) -> None:
    if not isinstance(value, str) or value.count("/") != 1:
        raise InvalidInput(f"{what} must be a layer address MODEL/LAYER, not {value!r}")


def _layer_names(value: object, what: str) -> None:
    if (not isinstance(value, list) or not value or len(value) > MAX_LAYERS
            or not all(isinstance(name, str) and name for name in value)):
        raise InvalidInput(f"{what} must be a list of layer names, not {value!r}")


@validator("compare")
def check_compare(params: dict) -> None:
    _known_keys(params, {"a", "b", "layers_a", "layers_b", "part"}, "compare")
    _layer_address(params.get("a"), "layer a")
    _layer_address(params.get("b"), "layer b")
    _layer_names(params.get("layers_a"), "layers_a")
    _layer_names(params.get("layers_b"), "layers_b")
    part = params.get("part")
    if not isinstance(part, dict):
        raise InvalidInput(f"a compare chunk needs a part of the stimulus set, not {part!r}")
    if "sweep" in part:
        _known_keys(part, {"sweep"}, "compare part")
        check_sweep(part["sweep"])
        return
    _known_keys(part, {"dataset", "start", "stop"}, "compare part")
    check_dataset(part.get("dataset"))
    start = bounded_int(part.get("start"), "start", 0, MAX_DATASET_INDEX)
    if part.get("stop") is not None and bounded_int(part["stop"], "stop", 1, MAX_DATASET_INDEX) <= start:
        raise InvalidInput(f"a compare chunk's images {start} to {part['stop']} are empty")


@validator("compare.match")
def check_compare_match(params: dict) -> None:
    _known_keys(params, {"a", "b", "stimuli", "force"}, "compare.match")
    _layer_address(params.get("a"), "layer a")
    _layer_address(params.get("b"), "layer b")
    check_stimuli(params.get("stimuli"))
    _flag(params, "force")
