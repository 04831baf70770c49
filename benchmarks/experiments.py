"""One experiment with its control against the plain forward passes it needs.

    python -m benchmarks.experiments [--n 512] [--repeats 3]

The experiment is the demo's first seeded claim (zero three conv3 -> conv4 edges of the
shipped ``demo`` model, one matched control draw) over ``--n`` held-out synthetic images.
It needs three passes over the stimuli (before, after, control); the baseline is three
plain ``model(x)`` passes over the same images, drawn beforehand. The experiment is timed
whole (drawing the stimuli, the hooked passes that stop after conv4, the bootstrap, the
plot) and without drawing the stimuli. Timed alternately, best of ``--repeats``.
Target: the experiment <= 3x those forward passes.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform

import torch

from atlas.compute.experiments import run_experiment
from atlas.compute.experiments.stimuli import resolve_stimuli
from atlas.compute.models import load_model
from atlas.exchange.seed import SEED_DIR
from benchmarks.tuning import best_of

PASSES = 3  # before, after, one control draw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    model, _info = load_model("demo")
    seed = json.loads((SEED_DIR / "demo.seed.json").read_text())
    spec = copy.deepcopy(next(c for c in seed["circuits"] if c["name"].startswith("demo-"))["claims"][0]["experiment"])
    spec["stimuli"]["dataset"]["n"] = args.n
    spec["control"] = {"draws": PASSES - 2}
    images = resolve_stimuli(spec["stimuli"], 64).images

    def plain() -> None:
        with torch.no_grad():
            for _ in range(PASSES):
                model(images)

    def experiment() -> None:
        run_experiment(model, copy.deepcopy(spec), input_size=64, model_name="demo")

    def stimuli() -> None:
        resolve_stimuli(spec["stimuli"], 64)

    plain_s, experiment_s, stimuli_s = best_of(args.repeats, plain, experiment, stimuli)
    print(f"machine: {platform.machine()} {platform.system()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"demo: {spec['measure']['unit']}, {len(spec['intervention']['edges'])} edges zeroed, "
          f"{args.n} synthetic images, {PASSES} passes")
    print(f"plain forward passes:   {plain_s * 1e3:8.1f} ms")
    print(f"experiment + control:   {experiment_s * 1e3:8.1f} ms  ratio {experiment_s / plain_s:.2f} (target <= 3)")
    print(f"  of which the stimuli: {stimuli_s * 1e3:8.1f} ms; without them: ratio "
          f"{(experiment_s - stimuli_s) / plain_s:.2f}")


if __name__ == "__main__":
    main()
