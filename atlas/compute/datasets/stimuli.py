"""A comparison's stimulus set from its text form, as the CLI (``atlas compare --dataset
--sweeps --steps``) and the app's compare page take it: ``{"dataset": spec or None,
"sweeps": [spec, ...]}``, every spec parsed and checked here without torch, so a bad one
is one line before anything is queued."""

from __future__ import annotations

from atlas.compute.datasets.spec import parse_dataset
from atlas.compute.datasets.sweep_spec import check_sweep, parse_sweep

DEFAULT_DATASET = "synthetic:2000"
DEFAULT_SWEEP_STEPS = "36"


def stimulus_set(size: int, dataset: str | None, sweeps: str | None, steps: object = DEFAULT_SWEEP_STEPS) -> dict:
    """The stimuli drawn at ``size`` pixels: ``dataset`` (a spec's text; ``None`` means
    ``DEFAULT_DATASET`` unless sweeps are given, an empty text means none) and the
    comma-separated tuning ``sweeps`` of ``steps`` conditions each."""
    names = [name.strip() for name in (sweeps or "").split(",") if name.strip()]
    specs = [check_sweep({**parse_sweep(name, steps), "size": size}) for name in names]
    text = dataset if dataset is not None or specs else DEFAULT_DATASET
    return {"dataset": parse_dataset(text.strip(), size) if text and text.strip() else None, "sweeps": specs}
