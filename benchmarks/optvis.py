"""Batched feature visualization against one render per unit, and against Lucent.

    python -m benchmarks.optvis [--units 64] [--steps 10] [--size 64] [--device auto]
    python -m benchmarks.optvis lucent [--layer conv3] [--units 8] [--steps 128] [--threads 1] [--lr 0.05]
    python -m benchmarks.optvis throughput [--model inceptionv1] [--layer mixed4b] [--units 512] [--size 224]
        [--steps 512] [--device auto] [--batch N] [--baseline-units 2]

The default run renders the channel visualizations of ``--units`` units of the demo CNN's
conv4 (random weights, seeded: speed does not depend on training) twice with the same
steps: in one batch, and one render per unit. Prints both throughputs in image-steps per
second, their ratio, how far each unit's two images are apart, and the machine. The
images agree up to float rounding, except where rounding differences between batch sizes
flip a max-pool tie (the flat padded border gives exact ties), which Adam's sign-like
early steps amplify.

``lucent`` compares with Lucent's own usage (``pip install --no-deps torch-lucent==0.1.8
kornia==0.4.1 decorator``): its ``render_vis`` called once per unit of the trained demo
model, with its standard transforms, Fourier parameterization and Adam at lr 0.05, the
same size and steps; ``preprocess=False`` (the model takes RGB in [0, 1]) and
``fixed_image_size`` the render size (Lucent otherwise upsamples to 224 for ImageNet
models). Both sides' final images are scored with the unit's channel objective as
``unit_objectives`` builds it (Lucent optimizes its ``channel`` of the layer module's
output). Prints each side's time per visualization and mean final activation, and the
fewest steps (of a grid) at which our batched render's mean activation reaches Lucent's,
with its time.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import types
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import torch

from atlas.compute.models import load_model
from atlas.compute.models.demo_cnn import DemoCNN
from atlas.compute.models.inceptionv1 import InceptionV1
from atlas.compute.optvis import RenderParams, channel, render_batch
from atlas.compute.optvis.objectives import unit_objectives
from atlas.compute.optvis.render import objective_values, resolve_device

T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    device_sync()
    start = time.perf_counter()
    result = fn()
    device_sync()
    return result, time.perf_counter() - start


def cpu_timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """``fn()``, its wall seconds and this process's CPU seconds (all threads)."""
    cpu = time.process_time()
    result, seconds = timed(fn)
    return result, seconds, time.process_time() - cpu


def device_sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def machine(device: torch.device) -> str:
    return (f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
            f"{torch.get_num_threads()} torch threads of {torch.multiprocessing.cpu_count()} CPUs, "
            f"torch {torch.__version__}, device {device}"
            + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))


def batching(args: argparse.Namespace) -> None:
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
    print(machine(device))
    print(f"workload: {args.units} units of demo {args.layer}, {args.size}px, {args.steps} steps")
    print(f"one at a time: {single_s:8.2f} s  {work / single_s:10.1f} image-steps/s")
    print(f"batched:       {batched_s:8.2f} s  {work / batched_s:10.1f} image-steps/s")
    print(f"speed-up (batched / one at a time): {single_s / batched_s:.2f}x")
    print(f"batched vs alone, largest pixel difference per unit: median {np.median(differences):.1e}, "
          f"max {differences.max():.1e}; {np.mean(differences < 1e-3):.0%} of units within 1e-3")


def import_lucent_render() -> types.ModuleType:
    """``lucent.optvis.render`` with stand-ins for what it imports and this benchmark does
    not use: torchvision's ``Normalize`` (only for ``preprocess=True``, which ImageNet
    models need and ours do not) and ``IPython.display`` (only to show images inline)."""
    transforms = types.ModuleType("torchvision.transforms")
    transforms.Normalize = None  # type: ignore[attr-defined]
    torchvision = types.ModuleType("torchvision")
    torchvision.transforms = transforms  # type: ignore[attr-defined]
    display = types.ModuleType("IPython.display")
    ipython = types.ModuleType("IPython")
    ipython.display = display  # type: ignore[attr-defined]
    for name, module in (("torchvision", torchvision), ("torchvision.transforms", transforms),
                         ("IPython", ipython), ("IPython.display", display)):
        sys.modules.setdefault(name, module)
    from lucent.optvis import render
    return render


def lucent(args: argparse.Namespace) -> None:
    try:
        lucent_render = import_lucent_render()
    except ImportError as error:
        print(f"lucent baseline skipped: {error} (pip install --no-deps torch-lucent==0.1.8 "
              f"kornia==0.4.1 decorator)")
        return
    from lucent.optvis import param as lucent_param
    torch.set_num_threads(args.threads)
    model, _ = load_model("demo")
    units = list(range(args.units))
    ours = [unit_objectives(args.layer, u, "channel")[0] for u in units]

    def lucent_one(unit: int) -> np.ndarray:
        torch.manual_seed(unit)
        (image,) = lucent_render.render_vis(
            model, f"{args.layer}:{unit}", lambda: lucent_param.image(args.size),
            thresholds=(args.steps,), preprocess=False, progress=False, show_image=False,
            fixed_image_size=args.size)
        return image[0]

    def ours_at(steps: int) -> tuple[np.ndarray, float, float]:
        params = RenderParams(size=args.size, steps=steps, lr=args.lr)
        result, seconds, cpu = cpu_timed(lambda: render_batch(model, ours, params, "cpu", max_batch=len(ours)))
        return objective_values(model, ours, result.images), seconds, cpu

    def per_vis(seconds: float, cpu: float) -> str:
        return f"{seconds / len(units):7.3f} s ({cpu / len(units):7.3f} s CPU)/visualization"

    lucent_one(0), ours_at(2)  # warm-up
    lucent_images, lucent_s, lucent_cpu = cpu_timed(lambda: np.stack([lucent_one(u) for u in units]))
    lucent_values = objective_values(model, ours, lucent_images)
    print(machine(torch.device("cpu")))
    print(f"workload: {args.units} units of the trained demo {args.layer}, {args.size}px, Lucent "
          f"{args.steps} steps at lr 0.05, one render_vis per unit; ours at lr {args.lr}, one batch; "
          f"ratios of CPU time (wall time is at the mercy of other jobs on a shared machine)")
    print(f"Lucent:            {per_vis(lucent_s, lucent_cpu)}, mean activation {lucent_values.mean():.3f}")
    values, seconds, cpu = ours_at(args.steps)
    print(f"ours, same steps:  {per_vis(seconds, cpu)}, mean activation {values.mean():.3f} "
          f"({values.mean() / lucent_values.mean():.2f}x Lucent's); {lucent_cpu / cpu:.1f}x less CPU time")
    for steps in [s for s in STEP_GRID if s <= args.steps]:
        values, seconds, cpu = ours_at(steps)
        print(f"  ours at {steps:4d} steps: {per_vis(seconds, cpu)}, mean activation {values.mean():.3f}",
              flush=True)
        if values.mean() >= lucent_values.mean():
            print(f"ours reaches Lucent's mean activation in {steps} steps: {lucent_cpu / cpu:.1f}x less "
                  f"CPU time than Lucent ({lucent_s / seconds:.1f}x less wall time)")
            return
    print(f"ours does not reach Lucent's mean activation within {args.steps} steps")


THROUGHPUT_TARGETS = (20.0, 30.0)  # visualizations a second; times the one-unit-at-a-time loops


def throughput(args: argparse.Namespace) -> None:
    """Visualizations per second of a whole layer rendered in one batch (randomly
    initialized weights, seeded: speed does not depend on training), against two
    one-unit-at-a-time loops timed on ``--baseline-units`` units of the same layer and
    extrapolated per visualization: our renderer with one unit per batch, and Lucent's
    ``render_vis`` (its transforms and Fourier parameterization; it optimizes the module's
    output where ours reads the pre-activation: the same work per step)."""
    device = resolve_device(args.device)
    torch.manual_seed(0)
    model = (InceptionV1() if args.model == "inceptionv1" else DemoCNN()).to(device).eval()
    params = RenderParams(size=args.size, steps=args.steps)
    objectives = [channel(args.layer, unit) for unit in range(args.units)]
    baseline = objectives[:args.baseline_units]
    render_batch(model, objectives[:2], RenderParams(size=args.size, steps=2), device)  # warm-up
    batch = args.batch or args.units
    _, batched_s = timed(lambda: render_batch(model, objectives, params, device, max_batch=batch))
    _, single_s = timed(lambda: [render_batch(model, [o], params, device) for o in baseline])
    ours, alone = args.units / batched_s, len(baseline) / single_s
    print(machine(device))
    print(f"workload: {args.units} units of {args.model} {args.layer} (random init), {args.size}px, "
          f"{args.steps} steps; one-at-a-time loops timed on {len(baseline)} units")
    print(f"batched ({batch} a batch): {batched_s:9.2f} s  {ours:9.3f} vis/s")
    print(f"ours one at a time:    {single_s / len(baseline):9.2f} s/vis  {alone:9.3f} vis/s  "
          f"batched is {ours / alone:.1f}x")
    ratios = [ours / alone]
    try:
        lucent_render = import_lucent_render()
        from lucent.optvis import param as lucent_param
    except ImportError as error:
        print(f"Lucent loop skipped: {error} (pip install --no-deps torch-lucent==0.1.8 kornia==0.4.1 decorator)")
    else:
        def lucent_one(unit: int) -> None:
            torch.manual_seed(unit)
            lucent_render.render_vis(model, f"{args.layer}:{unit}", lambda: lucent_param.image(args.size),
                                     thresholds=(args.steps,), preprocess=False, progress=False,
                                     show_image=False, fixed_image_size=args.size)

        _, lucent_s = timed(lambda: [lucent_one(unit) for unit in range(len(baseline))])
        lucent = len(baseline) / lucent_s
        print(f"Lucent one at a time:  {lucent_s / len(baseline):9.2f} s/vis  {lucent:9.3f} vis/s  "
              f"batched is {ours / lucent:.1f}x")
        ratios.append(ours / lucent)
    rate, ratio = THROUGHPUT_TARGETS
    print(f"targets: >= {rate:g} vis/s: {'met' if ours >= rate else 'MISSED'} ({ours:.2f}); "
          f">= {ratio:g}x the one-at-a-time loops: {'met' if min(ratios) >= ratio else 'MISSED'} "
          f"({min(ratios):.1f}x)")


STEP_GRID = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", nargs="?", choices=("batching", "lucent", "throughput"), default="batching")
    parser.add_argument("--model", choices=("inceptionv1", "demo"), default="inceptionv1",
                        help="throughput: the model (random init)")
    parser.add_argument("--batch", type=int, help="throughput: units a batch (default: all of them at once)")
    parser.add_argument("--baseline-units", type=int, default=2,
                        help="throughput: units the one-at-a-time loops are timed on")
    parser.add_argument("--units", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--size", type=int, help="pixels (default: 224 for throughput, else 64)")
    parser.add_argument("--layer")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--lr", type=float, default=0.05, help="our renderer's (lucent: Lucent's is 0.05)")
    args = parser.parse_args()
    if args.baseline == "throughput":
        throughput(argparse.Namespace(**{**vars(args), "units": args.units or 512, "steps": args.steps or 512,
                                         "layer": args.layer or "mixed4b", "size": args.size or 224}))
    elif args.baseline == "lucent":
        lucent(argparse.Namespace(**{**vars(args), "units": args.units or 8, "steps": args.steps or 128,
                                     "layer": args.layer or "conv3", "size": args.size or 64}))
    else:
        batching(argparse.Namespace(**{**vars(args), "units": args.units or 64, "steps": args.steps or 10,
                                       "layer": args.layer or "conv4", "size": args.size or 64}))


if __name__ == "__main__":
    main()
