"""Demo render settings: the fraction of the 512-step activation each setting reaches.

    python -m benchmarks.demo_vis [--units 4] [--models demo demo-b] [--threads 1]

For a sample of units of every layer of the shipped demo models (``--units`` evenly
spaced per layer), renders each unit's channel visualization with the reference setting
(64 px, 512 steps, lr 0.05: ``RenderParams``' steps and lr at the models' input size) and
with each candidate (steps, lr, size), all units of a layer in one batch as the demo
renders them. Prints, per candidate, the fraction of the reference activation reached
(minimum, 10th percentile and median over the units; units whose reference activation is
under 0.05 are left out: they do not fire, so a fraction means nothing) and the time per
image of the candidate. Then times the demo's three kinds (channel, negative, diversity)
on one layer with the old and the chosen settings and extrapolates to the whole demo.

The activation is the value of the unit's channel objective as ``unit_objectives`` builds
it, so whatever site (post- or pre-activation) that reads is what is measured.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from atlas.compute.demo_atlas import DEMO_MODELS, DemoSettings
from atlas.compute.models import load_model
from atlas.compute.optvis import RenderParams
from atlas.compute.optvis.render import render_requests

REFERENCE = (512, 0.05, 64)  # steps, lr, size
CANDIDATES = ((128, 0.05, 64), (128, 0.1, 64), (192, 0.1, 64), (256, 0.1, 64), (128, 0.2, 64))
ALIVE = 0.05
DEMO_KINDS = ("channel", "negative", "diversity")


def spatial_layers(model: torch.nn.Module) -> list[str]:
    return [name for name, module in model.named_children() if isinstance(module, torch.nn.Conv2d)]


def render_values(model: torch.nn.Module, layer: str, units: list[int], kinds: tuple[str, ...],
                  setting: tuple[int, float, int]) -> tuple[dict, float, float]:
    """The renders of ``kinds`` of ``units`` in one call, and its wall and CPU seconds."""
    steps, lr, size = setting
    wall, cpu = time.perf_counter(), time.process_time()
    results = render_requests(model, layer, [(k, u) for k in kinds for u in units],
                              RenderParams(size=size, steps=steps, lr=lr), "cpu")
    return results, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=4, help="units sampled per layer")
    parser.add_argument("--models", nargs="+", default=list(DEMO_MODELS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timing-layer", default="conv4")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    chosen = DemoSettings()
    chosen_setting = (chosen.vis_steps, chosen.vis_lr, chosen.vis_size)
    print("CPU seconds per image are the render's own CPU time (the machine may be shared)", flush=True)
    fractions: dict[tuple, list[float]] = {c: [] for c in CANDIDATES}
    seconds: dict[tuple, float] = dict.fromkeys(CANDIDATES, 0.0)
    images = dead = 0
    demo_units = 0
    for name in args.models:
        model, _ = load_model(name)
        for layer in spatial_layers(model):
            channels = getattr(model, layer).out_channels
            demo_units += channels
            units = sorted({int(u) for u in np.linspace(0, channels - 1, args.units)})
            reference, *_ = render_values(model, layer, units, ("channel",), REFERENCE)
            ref = np.array([reference["channel", u].values[0] for u in units])
            alive = ref > ALIVE
            dead += int((~alive).sum())
            images += len(units)
            for candidate in CANDIDATES:
                results, _, cpu = render_values(model, layer, units, ("channel",), candidate)
                got = np.array([results["channel", u].values[0] for u in units])
                fractions[candidate] += list(got[alive] / ref[alive])
                seconds[candidate] += cpu
            print(f"{name}/{layer}: units {units}, reference {np.round(ref, 2).tolist()}", flush=True)

    print(f"machine: {platform.platform()}, {torch.get_num_threads()} torch threads of "
          f"{torch.multiprocessing.cpu_count()} CPUs, torch {torch.__version__} (shared: not quiet)")
    print(f"{images} units sampled, {dead} left out (reference activation under {ALIVE})")
    print("steps    lr  size | fraction of the 512-step activation: min   p10  median | CPU s/image")
    for candidate in CANDIDATES:
        f = np.array(fractions[candidate])
        print(f"{candidate[0]:5d} {candidate[1]:5.2f} {candidate[2]:5d} | "
              f"{f.min():38.2f} {np.percentile(f, 10):5.2f} {np.median(f):7.2f} | "
              f"{seconds[candidate] / images:11.3f}" + ("  <- DemoSettings" if candidate == chosen_setting else ""))

    model, _ = load_model(args.models[0])
    channels = getattr(model, args.timing_layer).out_channels
    units = list(range(min(channels, 16)))
    old = (128, 0.05, 64)
    print(f"\nthe demo's kinds {', '.join(DEMO_KINDS)} on {len(units)} units of "
          f"{args.models[0]}/{args.timing_layer}, per unit (wall, CPU):")
    for label, setting, kinds in (("old, channel only", old, ("channel",)),
                                  ("old settings, three kinds", old, DEMO_KINDS),
                                  ("chosen, three kinds", chosen_setting, DEMO_KINDS)):
        _, wall, cpu = render_values(model, args.timing_layer, units, kinds, setting)
        print(f"  {label:28s} {setting}: {wall / len(units):6.3f} s, {cpu / len(units):6.3f} s CPU; "
              f"x {demo_units} demo units = {wall / len(units) * demo_units / 60:5.1f} min wall")


if __name__ == "__main__":
    main()
