"""Tuning curves of a whole demo layer against the plain forward passes they need.

    python -m benchmarks.tuning [--layer conv3] [--steps 36] [--sweep orientation] [--repeats 5]

``tuning_curves`` draws the sweep, captures the layer (max over positions) and summarizes
every unit; the baseline is ``model(x)`` over the same images, drawn beforehand. The
stored form (plot PNG, curve array and summary per unit, into a blob store) is timed on
its own. Timed alternately, best of ``--repeats``. Target: tuning curves <= 3x the plain
forward passes.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections.abc import Callable

import torch

from atlas.compute.datasets.sweeps import sweep_images
from atlas.compute.models.demo_cnn import DemoCNN
from atlas.compute.tuning import tuning_blobs, tuning_curves
from atlas.db.blobs import BlobStore


def best_of(repeats: int, *fns: Callable[[], object]) -> list[float]:
    """The best time of each function over ``repeats`` alternating rounds."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layer", default="conv3")
    parser.add_argument("--sweep", default="orientation")
    parser.add_argument("--steps", type=int, default=36)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    torch.manual_seed(0)
    model = DemoCNN().eval()
    spec = {"sweep": args.sweep, "steps": args.steps}
    images, _ = sweep_images(args.sweep, args.steps, 64)

    def plain() -> None:
        with torch.no_grad():
            model(images)

    def curves() -> None:
        tuning_curves(model, args.layer, spec, size=64)

    with tempfile.TemporaryDirectory() as root:
        blobs = BlobStore(root)
        result = tuning_curves(model, args.layer, spec, size=64)
        summaries = result.summaries()

        def stored() -> None:
            tuning_blobs(blobs, result, summaries)

        plain_s, curves_s, stored_s = best_of(args.repeats, plain, curves, stored)
    units = len(result.units)
    print(f"machine: {platform.machine()} {platform.system()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"demo {args.layer}: {units} units, {args.sweep} sweep of {args.steps} steps at 64 px")
    print(f"plain forward passes:  {plain_s * 1e3:8.2f} ms")
    print(f"tuning curves:         {curves_s * 1e3:8.2f} ms  ratio {curves_s / plain_s:.2f} (target <= 3)")
    print(f"plots, curves and summaries into the blob store: {stored_s * 1e3:8.2f} ms "
          f"({stored_s / units * 1e3:.2f} ms per unit)")


if __name__ == "__main__":
    main()
