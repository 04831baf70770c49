"""Demo render settings: the fraction of the 512-step activation each setting reaches.

    python -m benchmarks.demo_vis [--units 6] [--models demo demo-b] [--threads 1] [--part both]

For a sample of units of every layer of the shipped demo models (``--units`` evenly
spaced per layer), renders each unit's channel visualization with the reference setting
(64 px, 512 steps, lr 0.05: ``RenderParams``' steps and lr at the models' input size) and
with each candidate (steps, lr, size), all units of a layer in one batch as the demo
renders them. Prints, per candidate, the fraction of the reference activation reached
(minimum, 10th percentile and median over the units; units whose reference activation is
under 0.05 are left out: they do not fire, so a fraction means nothing) and the time per
image of the candidate. Then times the demo's three kinds (channel, negative, diversity)
per image on one layer with the chosen settings (and channel with the old ones): the demo's
render time is extrapolated from them (``--part timing`` alone).

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
OLD = (128, 0.05, 64)  # the demo's setting before these measurements
CANDIDATES = ((128, 0.05, 64), (96, 0.1, 64), (96, 0.15, 64), (96, 0.2, 64), (128, 0.1, 64),
              (128, 0.15, 64), (128, 0.2, 64), (160, 0.1, 64), (160, 0.15, 64), (256, 0.1, 64))
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


def measure_fractions(models: list[str], per_layer: int, chosen: tuple[int, float, int]) -> None:
    """Each candidate's fraction of the reference activation, over ``per_layer`` units of
    every spatial layer of ``models``."""
    fractions: dict[tuple, list[float]] = {c: [] for c in CANDIDATES}
    seconds: dict[tuple, float] = dict.fromkeys(CANDIDATES, 0.0)
    images = dead = 0
    for name in models:
        model, _ = load_model(name)
        for layer in spatial_layers(model):
            channels = getattr(model, layer).out_channels
            units = sorted({int(u) for u in np.linspace(0, channels - 1, per_layer)})
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

    print(f"{images} units sampled, {dead} left out (reference activation under {ALIVE})")
    print("steps    lr  size | fraction of the 512-step activation: min   p10  median | CPU s/image")
    for candidate in CANDIDATES:
        f = np.array(fractions[candidate])
        print(f"{candidate[0]:5d} {candidate[1]:5.2f} {candidate[2]:5d} | "
              f"{f.min():38.2f} {np.percentile(f, 10):5.2f} {np.median(f):7.2f} | "
              f"{seconds[candidate] / images:11.3f}" + ("  <- DemoSettings" if candidate == chosen else ""))


def time_kinds(model_name: str, layer: str, chosen: tuple[int, float, int], detail: tuple[int, float, int]) -> None:
    """CPU seconds per image of each of the demo's kinds on 16 units of ``layer``, with the
    old setting (channel only, as the demo rendered) and the chosen ones (``detail`` for
    negative and diversity): what the demo's render time is extrapolated from."""
    model, _ = load_model(model_name)
    units = list(range(min(getattr(model, layer).out_channels, 16)))
    n = RenderParams().diversity_n
    print(f"\nCPU seconds per image on {len(units)} units of {model_name}/{layer}:")
    for label, setting, kind, per_unit in (("old, channel", OLD, "channel", 1),
                                           ("chosen, channel", chosen, "channel", 1),
                                           ("detail, negative", detail, "negative", 1),
                                           (f"detail, diversity ({n} a unit)", detail, "diversity", n)):
        _, _, cpu = render_values(model, layer, units, (kind,), setting)
        print(f"  {label:28s} {setting}: {cpu / (len(units) * per_unit):6.3f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=6, help="units sampled per layer")
    parser.add_argument("--models", nargs="+", default=list(DEMO_MODELS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timing-layer", default="conv4")
    parser.add_argument("--part", choices=("fractions", "timing", "both"), default="both")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = DemoSettings()
    chosen = (settings.vis_steps, settings.vis_lr, settings.vis_size)
    print(f"machine: {platform.platform()}, {torch.get_num_threads()} torch threads of "
          f"{torch.multiprocessing.cpu_count()} CPUs, torch {torch.__version__}; CPU seconds are "
          f"the render's own (the machine may be shared)", flush=True)
    if args.part != "timing":
        measure_fractions(args.models, args.units, chosen)
    if args.part != "fractions":
        detail = (settings.detail_steps, settings.detail_lr, settings.vis_size)
        time_kinds(args.models[0], args.timing_layer, chosen, detail)


if __name__ == "__main__":
    main()
