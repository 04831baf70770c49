"""Diversity visualizations of demo units: activation kept, and how much the images differ.

    python -m benchmarks.diversity [--layer conv4] [--units 0 1 2 3 4 5 6 7] [--figure PATH]

For each unit, renders with the demo's settings (``DemoSettings``) its plain channel
visualization, its ``diversity`` group (``unit_objectives``, default relative weight) and
a control: the same group with weight 0, whose images differ only by their random
starts and transforms. Prints each diversity image's activation as a fraction of the
plain image's, and the group's dissimilarity (1 - the mean pairwise cosine of the
images' Gram matrices at the layer, the quantity the penalty lowers) beside the
control's. ``--figure`` writes a PNG: per unit, the plain image then the diversity images.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from atlas.compute.demo_atlas import DemoSettings
from atlas.compute.hooks import tap
from atlas.compute.models import load_model
from atlas.compute.optvis import RenderParams, diverse
from atlas.compute.optvis.objectives import group_dissimilarity, unit_objectives
from atlas.compute.optvis.render import objective_values, render_batch


def dissimilarity(model: nn.Module, layer: str, images: np.ndarray) -> float:
    """``group_dissimilarity`` of the images' activations at ``layer``."""
    with torch.no_grad(), tap(model, [layer], stop_after=layer) as taps:
        model(torch.as_tensor(images).permute(0, 3, 1, 2))
    return group_dissimilarity(taps[layer])


def diversity_and_control(model: nn.Module, layer: str, unit: int, params: RenderParams) -> dict:
    """The unit's plain, diversity and weight-0 control renders, in one batch, scored."""
    plain = unit_objectives(layer, unit, "channel")[0]
    group = unit_objectives(layer, unit, "diversity", params.diversity_n, params.diversity_weight)
    control = diverse(plain, layer, params.diversity_n, 0.0)
    result = render_batch(model, [plain, *group, *control], params, "cpu")
    n = params.diversity_n
    images = {"plain": result.images[:1], "diversity": result.images[1:1 + n],
              "control": result.images[1 + n:]}
    activation = {kind: objective_values(model, [plain] * len(found), found)
                  for kind, found in images.items()}
    return {"images": images, "activation": activation,
            "dissimilarity": {kind: dissimilarity(model, layer, images[kind])
                              for kind in ("diversity", "control")}}


def figure(rows: list[tuple[int, dict]], path: Path, scale: int = 1) -> None:
    """Per unit a row: the plain image, a gap, the diversity images; activations under each."""
    size = rows[0][1]["images"]["plain"].shape[1] * scale
    n = len(rows[0][1]["images"]["diversity"])
    pad, label = 4, 12
    canvas = Image.new("RGB", ((n + 1) * (size + pad) + 2 * pad, len(rows) * (size + label + pad) + pad),
                       "white")
    draw = ImageDraw.Draw(canvas)
    for r, (unit, found) in enumerate(rows):
        y = pad + r * (size + label + pad)
        tiles = [("plain", 0), *[("diversity", i) for i in range(n)]]
        for c, (kind, i) in enumerate(tiles):
            x = pad + c * (size + pad) + (pad if c else 0)
            tile = Image.fromarray((found["images"][kind][i] * 255).round().astype(np.uint8))
            canvas.paste(tile.resize((size, size), Image.NEAREST), (x, y))
            text = f"#{unit} {found['activation'][kind][i]:.2f}" if c == 0 else \
                f"{found['activation'][kind][i]:.2f}"
            draw.text((x, y + size), text, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.quantize(256).save(path, optimize=True)  # a palette keeps the figure small


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo")
    parser.add_argument("--layer", default="conv4")
    parser.add_argument("--units", type=int, nargs="+", default=list(range(8)))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = load_model(args.model)
    params = RenderParams(**DemoSettings().render())
    print(f"{args.model}/{args.layer}, {params.size}px, {params.steps} steps, lr {params.lr}, "
          f"{params.diversity_n} images, relative weight {params.diversity_weight}")
    rows = []
    for unit in args.units:
        found = diversity_and_control(model, args.layer, unit, params)
        plain = found["activation"]["plain"][0]
        fractions = found["activation"]["diversity"] / plain
        d = found["dissimilarity"]
        print(f"unit {unit:3d}: plain {plain:7.3f}; diversity / plain {np.round(fractions, 2).tolist()}; "
              f"dissimilarity {d['diversity']:.3f} vs control {d['control']:.3f}", flush=True)
        rows.append((unit, found))
    if args.figure:
        figure(rows, args.figure)
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
