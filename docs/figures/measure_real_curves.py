"""Figures and table of docs/science.md, "Curve detectors in two real ImageNet models":
do MobileNetV2 and EfficientNet-Lite0 (ImageNet-trained) have curve detectors in their
early-to-middle layers, by the Curve Detectors article's criteria, more than the same
architectures at random initialization (seed ``CONTROL_SEED``)? And how do the two
models' layers match (linear CKA, best partners) against the same match of the controls?

Layers: the pre-activations (batch-norm outputs, before ReLU6) of the 1x1 expansion of
five consecutive inverted-residual blocks in each model, from the end of the stride-4
stage into the stride-8/16 stages, at matching depth in the two (both share the stage
plan 16-24-32/40-64/80 channels): ``LAYERS``. These are the first units past the stem
whose receptive fields (about 20 to 60 pixels) can hold a curve.

Tuning: every unit's largest pre-activation over positions (the library's tuning
reduction) to the ``curve_orientation`` sweep (36 orientations over 360 degrees,
curvature 4, i.e. a radius of a quarter image) and to the straight-line ``orientation``
sweep (36 orientations over 180 degrees), both at ``SWEEP_SIZE`` pixels, and to a blank
image of the sweeps' background (the baseline); the natural level is each unit's
99th percentile of pre-activations over every position of the 26 scikit-image photos at
224 pixels. The criteria are ``atlas.compute.tuning.curve_criteria`` with its defaults.

Matching: ``synthetic:500`` plus ``package:skimage:200`` (26 photos and augmented views)
at ``CKA_SIZE`` pixels, streamed through both models by the library's ``measure``; pooled
pre-activation correlations and CKA as in ``measure_universality.py`` (whose ``Pooled``
is reused).

Writes ``real_curves.md``, ``cka_real_trained.png``, ``cka_real_control.png`` and
``real_curve_detectors.png`` next to this file. Run from the repository root:
``python docs/figures/measure_real_curves.py`` (the weights must be fetched:
``python -m examples.fetch_weights mobilenet_v2`` and ``efficientnet_lite0``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from measure_universality import OUT, Pooled
from PIL import Image, ImageDraw
from torch import nn

from atlas.compute.capture import capture, eval_mode
from atlas.compute.datasets.package import PackageImages
from atlas.compute.datasets.spec import parse_dataset
from atlas.compute.datasets.sweeps import DARK
from atlas.compute.models.loading import load_weights
from atlas.compute.optvis.render import RenderParams, render_units
from atlas.compute.tuning.curve_criteria import CurveCriteria, CurveVerdicts, curve_verdicts
from atlas.compute.tuning.curves import tuning_curves
from atlas.compute.universality.assignment import partners_above
from atlas.compute.universality.measure import Side, measure, part_images
from atlas.compute.universality.plot import plot_cka
from examples import efficientnet_lite0, mobilenet_v2
from examples.weights import fetch

MODELS: dict[str, tuple[Callable[[], nn.Module], str]] = {
    "MobileNetV2": (mobilenet_v2.build, "mobilenet_v2"),
    "EfficientNet-Lite0": (efficientnet_lite0.build, "efficientnet_lite0"),
}
LAYERS = {
    "MobileNetV2": [f"features.{i}.conv.0.1" for i in (3, 4, 5, 6, 7)],
    "EfficientNet-Lite0": [f"_blocks.{i}._bn0" for i in (2, 3, 4, 5, 6)],
}
CONTROL_SEED = 3
SWEEP_SIZE, STEPS, CURVATURE = 96, 36, 4.0
CURVES = {"sweep": "curve_orientation", "steps": STEPS, "curvature": CURVATURE}
LINES = {"sweep": "orientation", "steps": STEPS, "stimulus": "line"}
NATURAL_PERCENTILE, PHOTO_SIZE = 99.0, 224
CKA_SIZE, SYNTHETIC, PHOTOS = 128, "synthetic:500", "package:skimage:200"
THRESHOLDS = (0.8, 0.6, 0.4)
SHOWN, VIS = 4, RenderParams(size=128, steps=96)
CRITERIA = CurveCriteria()


def timed(what: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.0f} s] {what}", flush=True)


def build(name: str, trained: bool) -> nn.Module:
    factory, weights = MODELS[name]
    if trained:
        model = factory()
        load_weights(model, fetch(weights))
    else:
        torch.manual_seed(CONTROL_SEED)
        model = factory()
    return model.eval()


@dataclass
class LayerTuning:
    curve: np.ndarray  # units x orientations (360 degrees)
    line: np.ndarray
    verdicts: CurveVerdicts


@torch.no_grad()
def natural_levels(model: nn.Module, layers: list[str]) -> dict[str, np.ndarray]:
    """Each unit's ``NATURAL_PERCENTILE`` over every position of every photo."""
    photos = PackageImages("skimage", PHOTO_SIZE)
    images = torch.stack([photos[i][0] for i in range(len(photos))])
    with eval_mode(model):
        acts = capture(model, layers, images, None, "pre")
    return {layer: np.percentile(acts[layer].transpose(0, 1).flatten(1).double().numpy(), NATURAL_PERCENTILE, axis=1)
            for layer in layers}


@torch.no_grad()
def baseline(model: nn.Module, layers: list[str]) -> dict[str, np.ndarray]:
    blank = torch.from_numpy(np.broadcast_to(DARK, (1, SWEEP_SIZE, SWEEP_SIZE, 3)).copy()).permute(0, 3, 1, 2)
    with eval_mode(model):
        acts = capture(model, layers, blank, "max", "pre")
    return {layer: acts[layer][0].double().numpy() for layer in layers}


def tune(model: nn.Module, layers: list[str]) -> dict[str, LayerTuning]:
    base, natural = baseline(model, layers), natural_levels(model, layers)
    out = {}
    for layer in layers:
        curve = tuning_curves(model, layer, CURVES, size=SWEEP_SIZE).responses
        line = tuning_curves(model, layer, LINES, size=SWEEP_SIZE).responses
        out[layer] = LayerTuning(curve, line, curve_verdicts(curve, line, base[layer], natural[layer],
                                                             360.0 / STEPS, CRITERIA))
    return out


def stimuli() -> Iterator[torch.Tensor]:
    for text in (SYNTHETIC, PHOTOS):
        yield from part_images({"dataset": parse_dataset(text, CKA_SIZE), "start": 0, "stop": None}, CKA_SIZE, 50)


def compare(a: nn.Module, b: nn.Module) -> Pooled:
    la, lb = LAYERS["MobileNetV2"], LAYERS["EfficientNet-Lite0"]
    return Pooled(measure(Side(a, CKA_SIZE, la, la[-1]), Side(b, CKA_SIZE, lb, lb[-1]), stimuli(), "cpu"))


def counts_table(tunings: dict[tuple[str, bool], dict[str, LayerTuning]]) -> list[str]:
    lines = ["| model | layer | units | (a) curves ≥ 2× lines | (b) smooth, one peak ≤ 180° | (c) ≥ photos' p99 | "
             "all three: trained | all three: control |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in MODELS:
        for layer in LAYERS[name]:
            t, c = tunings[(name, True)][layer].verdicts, tunings[(name, False)][layer].verdicts
            cell = " | ".join(f"{int(x.sum())} / {int(y.sum())}" for x, y in (
                (t.curves_over_lines, c.curves_over_lines), (t.smooth, c.smooth), (t.real, c.real)))
            lines.append(f"| {name} | `{layer}` | {len(t.passes)} | {cell} | **{int(t.passes.sum())}** | "
                         f"{int(c.passes.sum())} |")
    return lines


def partner_table(trained: Pooled, control: Pooled) -> list[str]:
    la, lb = LAYERS["MobileNetV2"], LAYERS["EfficientNet-Lite0"]
    head = " · ".join(f"r ≥ {t}" for t in THRESHOLDS)
    lines = [f"| MobileNetV2 layer ~ EfficientNet-Lite0 layer (same depth) | units with a best partner, trained / "
             f"control: {head} | CKA trained | CKA control |", "| --- | --- | --- | --- |"]
    cka_t, cka_c = trained.cka(), control.cka()
    for i, (a, b) in enumerate(zip(la, lb)):
        t, c = partners_above(trained.corr(i, i), THRESHOLDS), partners_above(control.corr(i, i), THRESHOLDS)
        cells = " · ".join(f"**{x}**/{y}" if x > y else f"{x}/{y}" for x, y in zip(t, c))
        lines.append(f"| `{a}` ~ `{b}` | {cells} (of {trained.corr(i, i).shape[0]}) | {cka_t[i, i]:.2f} | "
                     f"{cka_c[i, i]:.2f} |")
    return lines


def detectors(tuning: dict[str, LayerTuning]) -> list[tuple[str, int, float]]:
    """Every qualifying unit as (layer, unit, curve/line ratio), strongest ratio first."""
    found = [(layer, int(u), float(t.verdicts.ratio[u])) for layer, t in tuning.items()
             for u in np.flatnonzero(t.verdicts.passes)]
    return sorted(found, key=lambda x: -min(x[2], 1e9))


def partner_lines(trained: Pooled, tunings: dict[tuple[str, bool], dict[str, LayerTuning]]) -> list[str]:
    """For each MobileNetV2 curve detector: its best partner among the chosen
    EfficientNet-Lite0 units (all five layers), the correlation, and whether the partner
    qualifies too."""
    la, lb = LAYERS["MobileNetV2"], LAYERS["EfficientNet-Lite0"]
    lite = tunings[("EfficientNet-Lite0", True)]
    lines = ["| MobileNetV2 curve detector | best partner in EfficientNet-Lite0 | r | partner qualifies |",
             "| --- | --- | --- | --- |"]
    for layer, unit, _ratio in detectors(tunings[("MobileNetV2", True)]):
        i = la.index(layer)
        row = np.concatenate([trained.corr(i, j)[unit] for j in range(len(lb))])
        best = int(row.argmax())
        widths = np.cumsum([0] + [trained.corr(i, j).shape[1] for j in range(len(lb))])
        j = int(np.searchsorted(widths, best, side="right") - 1)
        partner = best - widths[j]
        lines.append(f"| `{layer}/{unit}` | `{lb[j]}/{partner}` | {row[best]:.2f} | "
                     f"{'yes' if lite[lb[j]].verdicts.passes[partner] else 'no'} |")
    return lines


def sparkline(curve: np.ndarray, line: np.ndarray, width: int, height: int) -> Image.Image:
    """The curve tuning (blue, 0-360 degrees) and line tuning (orange, 0-180 degrees) on
    one shared scale."""
    image = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(image)
    low, high = min(curve.min(), line.min()), max(curve.max(), line.max())
    span = high - low or 1.0

    def points(values: np.ndarray) -> list[tuple[float, float]]:
        xs = np.linspace(2, width - 3, len(values))
        return list(zip(xs.tolist(), (height - 3 - (values - low) / span * (height - 6)).tolist()))

    pen.line(points(line), fill=(255, 127, 14), width=1)
    pen.line(points(curve), fill=(31, 119, 180), width=2)
    pen.rectangle([0, 0, width - 1, height - 1], outline=(200, 200, 200))
    return image


def grid(models: dict[str, nn.Module], tunings: dict[tuple[str, bool], dict[str, LayerTuning]]) -> Image.Image:
    size, label, spark = VIS.size, 14, 48
    rows = list(MODELS)
    image = Image.new("RGB", (SHOWN * (size + 6) + 6, len(rows) * (size + label + spark + 10) + 4), "white")
    pen = ImageDraw.Draw(image)
    for r, name in enumerate(rows):
        tuning = tunings[(name, True)]
        chosen = detectors(tuning)[:SHOWN]
        top = 4 + r * (size + label + spark + 10)
        if not chosen:
            pen.text((6, top + size // 2), f"{name}: no unit qualifies", fill=(40, 40, 40))
        for c, (layer, unit, ratio) in enumerate(chosen):
            left = 6 + c * (size + 6)
            rendered = render_units(models[name], layer, [unit], "channel", VIS, "cpu")[("channel", unit)]
            picture = Image.fromarray((np.clip(rendered.images[0], 0, 1) * 255).astype(np.uint8))
            short = layer.replace("features.", "f").replace("_blocks.", "b").replace(".conv.0.1", "").replace(
                "._bn0", "")
            pen.text((left, top), f"{name[:6]} {short}/{unit} x{min(ratio, 99):.1f}", fill=(40, 40, 40))
            image.paste(picture, (left, top + label))
            t = tuning[layer]
            image.paste(sparkline(t.curve[unit], t.line[unit], size, spark), (left, top + label + size + 2))
    return image


def main() -> None:
    torch.set_num_threads(2)
    started = time.monotonic()
    models = {(name, trained): build(name, trained) for name in MODELS for trained in (True, False)}
    tunings = {}
    for key, model in models.items():
        tunings[key] = tune(model, LAYERS[key[0]])
        timed(f"tuning {key[0]} {'trained' if key[1] else 'control'}", started)
    trained = compare(models[("MobileNetV2", True)], models[("EfficientNet-Lite0", True)])
    timed("matching, trained", started)
    control = compare(models[("MobileNetV2", False)], models[("EfficientNet-Lite0", False)])
    timed("matching, control", started)
    la, lb = LAYERS["MobileNetV2"], LAYERS["EfficientNet-Lite0"]
    short_a = [x.replace(".conv.0.1", "") for x in la]
    short_b = [x.replace("._bn0", "") for x in lb]
    for file, pooled, what in (("cka_real_trained.png", trained, "trained"),
                               ("cka_real_control.png", control, f"random init, seed {CONTROL_SEED}")):
        title = f"linear CKA, MobileNetV2 (rows) ~ EfficientNet-Lite0 (columns), {what}, {pooled.images} images"
        plot_cka(pooled.cka(), short_a, short_b, title).save(OUT / file, optimize=True)
    grid({name: models[(name, True)] for name in MODELS}, tunings).save(OUT / "real_curve_detectors.png",
                                                                        optimize=True)
    timed("visualizations", started)
    lines = [f"Curve detectors by the criteria of `atlas/compute/tuning/curve_criteria.py` ({CRITERIA}); "
             f"sweeps at {SWEEP_SIZE} px, {STEPS} steps, curvature {CURVATURE}; natural level: "
             f"p{NATURAL_PERCENTILE:g} over every position of the 26 scikit-image photos at {PHOTO_SIZE} px. "
             f"Cells: trained / control (random init, seed {CONTROL_SEED}).", "",
             *counts_table(tunings), "",
             f"Matching over {SYNTHETIC} + {PHOTOS} at {CKA_SIZE} px ({trained.images} images): pooled "
             "pre-activation correlation, best partner; bold where trained has more.", "",
             *partner_table(trained, control), "",
             "Best partners of MobileNetV2's curve detectors (trained):", "",
             *partner_lines(trained, tunings), ""]
    (OUT / "real_curves.md").write_text("\n".join(lines))
    print("\n".join(lines))
    timed("done", started)


if __name__ == "__main__":
    main()
