"""The search for a demo circuit that holds against its control, by measuring, with its
thresholds fixed before any run (docs/experiments.md, "The demo's claims").

    python seed_data/measure_demo_circuits.py

For each demo model and each procedure below, the unit is the one with the highest
selectivity along a sweep (``tuning_curves`` on the clean sweep, pre-activations, peak
> 0), its preferred stimulus the sweep value at its peak, and its top ``TOP`` inputs
from the layer below are chosen by the procedure. The claim: zeroing those edges lowers
the unit's response (post-ReLU, max over positions) to its preferred stimulus by at least
``DROP``, and a matched control (``CONTROL_DRAWS`` random edge sets of similar strength)
does not. It is tested on held-out stimuli: ``SAMPLES`` jittered draws per step, seed
``HELD_OUT_SEED`` (the selection saw only the clean sweep). A claim that holds would go
into seed_data/demo.seed.json; every result is printed, held or not.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from atlas.compute.datasets.sweeps import sweep_images
from atlas.compute.experiments import run_experiment
from atlas.compute.models import load_model
from atlas.compute.tuning import tuning_curves

TOP, DROP, CONTROL_DRAWS, STEPS, SAMPLES, HELD_OUT_SEED, SIZE = 3, -0.5, 3, 36, 8, 1, 64


def by_net_weight(model: torch.nn.Module, layer: str, unit: int, _image: torch.Tensor) -> list[int]:
    """The most excitatory inputs by the sum of their direct kernel."""
    return torch.argsort(getattr(model, layer).weight[unit].sum((1, 2)), descending=True)[:TOP].tolist()


@torch.no_grad()
def by_contribution(model: torch.nn.Module, layer: str, unit: int, image: torch.Tensor) -> list[int]:
    """The inputs that contribute most to the unit's pre-activation at its peak position
    on the clean preferred image (conv3 only: its input is the pooled conv2)."""
    pooled = F.max_pool2d(model.conv2(model.conv1(image[None])), 2)
    conv = getattr(model, layer)
    per = F.conv2d(pooled, conv.weight[unit][:, None], padding=conv.padding, groups=pooled.shape[1])[0]
    total = per.sum(0)
    row, col = divmod(int(total.argmax()), total.shape[1])
    return torch.argsort(per[:, row, col], descending=True)[:TOP].tolist()


PROCEDURES = (("conv3", "conv2", "curve_orientation", by_net_weight),
              ("conv2", "conv1", "orientation", by_net_weight),
              ("conv3", "conv2", "curve_orientation", by_contribution))


def attempt(name: str, model: torch.nn.Module, layer: str, prev: str, sweep: str, choose) -> str:  # noqa: ANN001
    summaries = tuning_curves(model, layer, {"sweep": sweep, "steps": STEPS}, size=SIZE).summaries()
    unit = max(range(len(summaries)), key=lambda u: summaries[u]["selectivity"] if summaries[u]["peak"] > 0 else -1)
    preferred = summaries[unit]["preferred"]
    images, shows = sweep_images(sweep, STEPS, SIZE)
    image = images[[next(iter(s.values())) for s in shows].index(preferred)]
    address = f"{name}/{layer}/{unit}"
    spec = {"intervention": {"kind": "edit_edges", "scale": 0.0,
                             "edges": [[f"{name}/{prev}/{i}", address] for i in choose(model, layer, unit, image)]},
            "stimuli": {"sweep": sweep, "steps": STEPS, "samples": SAMPLES, "seed": HELD_OUT_SEED, "size": SIZE},
            "measure": {"unit": address, "reduce": "max", "site": "post"},
            "prediction": [{"condition": f"{preferred:g}", "op": "<=", "value": DROP}],
            "control": {"draws": CONTROL_DRAWS}, "seed": 0}
    outcome = run_experiment(model, spec, input_size=SIZE, model_name=name)
    return f"{address} ({sweep}, {choose.__name__}, preferred {preferred:g}): {outcome.result['summary']}"


def main() -> None:
    for name in ("demo", "demo-b"):
        model, _info = load_model(name)
        for layer, prev, sweep, choose in PROCEDURES:
            print(attempt(name, model, layer, prev, sweep, choose))


if __name__ == "__main__":
    main()
