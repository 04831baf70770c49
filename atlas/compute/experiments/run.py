"""Running one experiment: stimuli, the measurement before, after the intervention and
under its matched controls, the verdict, the plot, and everything that reproduces it.

The model is only read: interventions are forward hooks (``interventions``), and the hash
of its parameters is taken before and after, so a run that changed a weight would be an
error rather than a result.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from torch import nn

from atlas.compute.experiments.interventions import build, control
from atlas.compute.experiments.measure import Measurement, measure
from atlas.compute.experiments.plot import response_plot
from atlas.compute.experiments.stimuli import resolve_stimuli
from atlas.compute.experiments.verdict import compare, select, verdict
from atlas.errors import AtlasError
from atlas.experiments.spec import check_experiment

Progress = Callable[[int, "int | None", "str | None"], None]


@dataclass(frozen=True)
class ExperimentOutcome:
    verdict: str
    result: dict  # JSON: the numbers, the control, what reproduces the run
    plot: bytes  # PNG


def state_sha256(model: nn.Module) -> str:
    """A hash of the model's parameters and buffers (names, shapes and values)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def code_version() -> str:
    """The atlas version, and its git commit when it runs from a checkout."""
    version = metadata.version("atlas")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=5, check=False).stdout.strip()
    except OSError:
        commit = ""
    return f"{version}+{commit}" if commit else version


def _json_safe(value: object) -> object:
    """``value`` with every non-finite float as None (JSON, and PostgreSQL's JSONB, have no NaN)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _means(values: np.ndarray, conditions: np.ndarray, order: list[str]) -> list[float]:
    return [float(values[conditions == c].mean()) for c in order]


def run_experiment(model: nn.Module, spec: dict, *, input_size: int, model_name: str,
                   weights_sha256: str | None = None, classes: list[str] | None = None,
                   batch_size: int = 128, progress: Progress | None = None) -> ExperimentOutcome:
    """Run the checked experiment ``spec`` on ``model`` (left unchanged)."""
    spec = check_experiment(spec)
    report = progress or (lambda *_: None)
    started, seed = time.perf_counter(), int(spec.get("seed", 0))
    state = state_sha256(model)
    stimuli = resolve_stimuli(spec["stimuli"], input_size)
    conditions = np.array(stimuli.conditions)
    measurement = Measurement.build(spec["measure"], classes)
    intervention = build(spec["intervention"])
    draws = 0 if intervention.kind == "none" or spec.get("control", {}) is False \
        else int(spec.get("control", {}).get("draws", 1))
    total = 2 + draws
    report(0, total, f"measuring {len(conditions)} stimuli before")
    before, stats = measure(model, stimuli.images, measurement, intervention, None, batch_size,
                            collect=intervention.stat_layers)
    report(1, total, "after the intervention")
    after, _ = measure(model, stimuli.images, measurement, intervention, stats, batch_size)
    rng = np.random.default_rng(seed)
    controls, control_runs = [], []
    for draw in range(draws):
        report(2 + draw, total, f"control {draw + 1} of {draws}")
        matched = control(intervention, stats, model, (measurement.layer or "", measurement.channel), rng)
        controls.append(matched.describe())
        control_runs.append(measure(model, stimuli.images, measurement, matched, stats, batch_size)[0].numpy())
    if state_sha256(model) != state:
        raise AtlasError("the model's weights changed during the experiment: no result is stored")
    b, a = before.numpy().astype(np.float64), after.numpy().astype(np.float64)
    c = np.stack(control_runs).astype(np.float64) if control_runs else None
    comparisons = [compare(p, conditions, b, a, c, rng) for p in spec["prediction"]]
    outcome, why = verdict(comparisons, c is not None)
    per_condition = {name: {"n": int(select(conditions, name).sum()),
                            "before": _means(b, conditions, [name])[0], "after": _means(a, conditions, [name])[0],
                            **({"control": float(c[:, conditions == name].mean())} if c is not None else {})}
                     for name in stimuli.order}
    summary = f"{outcome}: {why}; " + "; ".join(
        f"{x.of} on {x.condition} {x.measured:+.3f} [{x.ci[0]:+.3f}, {x.ci[1]:+.3f}]"
        + (f" (control {x.control:+.3f})" if x.control is not None else "")
        for x in comparisons if x.measured is not None and x.ci is not None)
    result = {
        "verdict": outcome, "why": why, "summary": summary,
        "comparisons": [x.as_dict() for x in comparisons], "conditions": per_condition,
        "intervention": intervention.describe(), "controls": controls, "stimuli_count": len(conditions),
        "seconds": round(time.perf_counter() - started, 3),
        "reproduce": {"model": model_name, "weights_sha256": weights_sha256, "state_sha256": state,
                      "experiment": spec, "stimuli": spec["stimuli"], "seed": seed, "code_version": code_version(),
                      "torch": torch.__version__},
    }
    means = {"before": _means(b, conditions, stimuli.order), "after": _means(a, conditions, stimuli.order)}
    if c is not None:
        means["control"] = _means(c.mean(0), conditions, stimuli.order)
    plot = response_plot(stimuli.order, means, f"{model_name}: {outcome} ({why})")
    report(total, total, outcome)
    return ExperimentOutcome(outcome, _json_safe(result), plot)  # type: ignore[arg-type]
