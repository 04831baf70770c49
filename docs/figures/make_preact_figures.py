"""Figures of docs/science.md, "Pre-activations": what reading units before their ReLU changes.

1. ``preact_conv5_vis.png``: the channel visualizations of the shipped demo's 64 ``conv5``
   units with the demo's render settings (``DemoSettings.render()``), optimizing
   the ReLU output (left) and the pre-activation (right), with the count of flat images in
   each. Flat: the image's standard deviation over all pixels and colours is below 0.01
   (on a [0, 1] scale; a picture with any visible pattern is well above it).
2. ``preact_conv5_examples.png``: top and bottom dataset examples of a few ``conv5`` units
   over the demo's example set, each crop with its pre-activation under it.

It also prints how the bottom examples looked when read after the ReLU: how many units'
bottom-k all score 0 (a tie broken by dataset order).

Run from the repository root: ``python docs/figures/make_preact_figures.py`` (a few minutes
on two CPU cores).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from atlas.compute.capture import collect_activations
from atlas.compute.datasets import SyntheticShapes
from atlas.compute.demo_atlas import DemoSettings
from atlas.compute.examples import top_examples
from atlas.compute.models import load_model
from atlas.compute.optvis import RenderParams, render_units

OUT = Path(__file__).parent
LAYER = "conv5"
FLAT_STD = 0.01
EXAMPLE_UNITS = (0, 5, 21, 40)


def flat_count(images: np.ndarray) -> int:
    return int((images.reshape(len(images), -1).std(axis=1) < FLAT_STD).sum())


def grid(images: np.ndarray, columns: int, pad: int = 2) -> Image.Image:
    """NHWC images in [0, 1] as one tiled picture, white between tiles."""
    n, h, w, _ = images.shape
    rows = -(-n // columns)
    canvas = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        canvas[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = image
    return Image.fromarray((canvas * 255).round().astype(np.uint8))


def titled(picture: Image.Image, title: str) -> Image.Image:
    out = Image.new("RGB", (picture.width, picture.height + 16), "white")
    out.paste(picture, (0, 16))
    ImageDraw.Draw(out).text((4, 2), title, fill="black")
    return out


def side_by_side(*pictures: Image.Image, gap: int = 12) -> Image.Image:
    out = Image.new("RGB", (sum(p.width for p in pictures) + gap * (len(pictures) - 1),
                            max(p.height for p in pictures)), "white")
    x = 0
    for picture in pictures:
        out.paste(picture, (x, 0))
        x += picture.width + gap
    return out


def save_small(picture: Image.Image, path: Path) -> None:
    """A 256-colour PNG: the figures stay well under 300 KB."""
    picture.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def visualizations(model: torch.nn.Module, settings: DemoSettings) -> None:
    units = list(range(64))
    panels = []
    for site in ("post", "pre"):
        params = RenderParams(**settings.render(), site=site)
        results = render_units(model, LAYER, units, "channel", params, device="cpu")
        images = np.concatenate([results["channel", u].images for u in units])
        flat = flat_count(images)
        print(f"{LAYER} channel visualizations, site={site}: {flat} of {len(units)} flat (std < {FLAT_STD})")
        picture = grid(images, 8)  # shown at 3/4 size, to keep the figure under 300 KB
        picture = picture.resize((picture.width * 3 // 4, picture.height * 3 // 4), Image.LANCZOS)
        panels.append(titled(picture, f"{LAYER}, objective on {site}: {flat}/64 flat"))
    save_small(side_by_side(*panels), OUT / "preact_conv5_vis.png")


def examples(model: torch.nn.Module, settings: DemoSettings) -> None:
    n = int(settings.examples.split(":")[1])
    data = SyntheticShapes(n)
    post = collect_activations(model, [LAYER], data, batch_size=200, reduction="max")[LAYER]
    bottom_post = post.sort(dim=0).values[:settings.examples_k]
    tied = int((bottom_post == 0).all(dim=0).sum())
    print(f"read after the ReLU: {tied} of {post.shape[1]} {LAYER} units have bottom-{settings.examples_k} all 0")
    result = top_examples(model, LAYER, data, EXAMPLE_UNITS, settings.examples_k, batch_size=200)
    print(f"pre-activation bottom values: max {result.bottom['value'].max():.3g}, "
          f"crops at (0, 0): {int(((result.bottom['y'] == 0) & (result.bottom['x'] == 0)).sum())} "
          f"of {result.bottom.size}")
    rows = []
    for row, unit in enumerate(result.units):
        for end, crops, records in (("top", result.top_crops, result.top),
                                    ("bottom", result.bottom_crops, result.bottom)):
            tiles = [Image.fromarray((c * 255).round().astype(np.uint8)).resize((48, 48), Image.NEAREST)
                     for c in crops[row]]
            strip = Image.new("RGB", (96 + 52 * len(tiles), 64), "white")
            draw = ImageDraw.Draw(strip)
            draw.text((2, 20), f"{LAYER}/{unit} {end}", fill="black")
            for i, (tile, value) in enumerate(zip(tiles, records[row]["value"], strict=True)):
                strip.paste(tile, (96 + 52 * i, 0))
                draw.text((96 + 52 * i, 50), f"{value:+.2f}", fill="black")
            rows.append(strip)
    figure = Image.new("RGB", (rows[0].width, sum(r.height for r in rows)), "white")
    for i, strip in enumerate(rows):
        figure.paste(strip, (0, 64 * i))
    save_small(figure, OUT / "preact_conv5_examples.png")


def main() -> None:
    torch.manual_seed(0)
    settings = DemoSettings()
    model, _ = load_model("demo")
    examples(model, settings)
    visualizations(model, settings)


if __name__ == "__main__":
    main()
