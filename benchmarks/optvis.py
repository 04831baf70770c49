"""Batched feature visualization against rendering the same units one at a time.

    python -m benchmarks.optvis [--units 64] [--steps 10] [--size 64] [--device auto]

Renders the channel visualizations of ``--units`` units of the demo CNN's conv4 (random
weights, seeded: speed does not depend on training) twice with the same steps: in one
batch, and one render per unit. Prints both throughputs in image-steps per second, their
ratio, how far each unit's two images are apart, and the machine. The images agree up to
float rounding, except where rounding differences between batch sizes flip a max-pool tie
(the flat padded border gives exact ties), which Adam's sign-like early steps amplify.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import torch

from atlas.compute.models.demo_cnn import DemoCNN
from atlas.compute.optvis import RenderParams, channel, render_batch
from atlas.compute.optvis.render import resolve_device

T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    device_sync()
    start = time.perf_counter()
    result = fn()
    device_sync()
    return result, time.perf_counter() - start


def device_sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--layer", default="conv4")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    device = resolve_device(args.device)
    torch.manual_seed(0)
    model = DemoCNN().to(device).eval()
    params = RenderParams(size=args.size, steps=args.steps)
    objectives = [channel(args.layer, unit) for unit in range(args.units)]
    render_batch(model, objectives[:2], RenderParams(size=args.size, steps=2), device)  # warm-up

    batched, batched_s = timed(lambda: render_batch(model, objectives, params, device,
                                                    max_batch=args.units))
    singles, single_s = timed(lambda: [render_batch(model, [o], params, device) for o in objectives])
    differences = np.array([np.abs(batched.images[i] - s.images[0]).max()
                            for i, s in enumerate(singles)])

    work = args.units * args.steps
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch threads of {torch.multiprocessing.cpu_count()} CPUs, "
          f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    print(f"workload: {args.units} units of demo {args.layer}, {args.size}px, {args.steps} steps")
    print(f"one at a time: {single_s:8.2f} s  {work / single_s:10.1f} image-steps/s")
    print(f"batched:       {batched_s:8.2f} s  {work / batched_s:10.1f} image-steps/s")
    print(f"speed-up (batched / one at a time): {single_s / batched_s:.2f}x")
    print(f"batched vs alone, largest pixel difference per unit: median {np.median(differences):.1e}, "
          f"max {differences.max():.1e}; {np.mean(differences < 1e-3):.0%} of units within 1e-3")


if __name__ == "__main__":
    main()
