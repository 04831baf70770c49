"""Matching two demo layers across models against the plain forward passes it needs.

    python -m benchmarks.universality [--images 2000] [--repeats 3] [--device cpu]

``measure`` streams the images through both shipped demo models (``demo``, ``demo-b``),
reading every layer's pre-activation, pooling it, and keeping the matched layers (conv4:
64 units each, 8x8 maps) per position, reduced to moments batch by batch; ``analyse``
then correlates every unit pair, matches them (Hungarian, best partners) and computes the
CKA of all 36 layer pairs. The baseline is ``model_a(x)`` and ``model_b(x)`` over the same
images in the same batches, drawn beforehand (drawing the synthetic images is timed on
its own). Timed alternately, best of ``--repeats``. Target: measure + analyse <= 2x the
plain forward passes.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from atlas.compute.models import load_model
from atlas.compute.universality.analysis import analyse
from atlas.compute.universality.measure import BATCH, Side, measure, part_images
from benchmarks.tuning import best_of

LAYER = "conv4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    model_a, info = load_model("demo", device=args.device)
    model_b, _ = load_model("demo-b", device=args.device)
    model_a.eval(), model_b.eval()
    size = info.input_shape[-1]
    part = {"dataset": {"kind": "synthetic", "n": args.images, "seed": 0, "size": size}, "start": 0,
            "stop": args.images}
    start = time.perf_counter()
    batches = [images.to(args.device) for images in part_images(part, size, BATCH)]
    drawing_s = time.perf_counter() - start
    names = [n for n, _ in model_a.named_children() if n.startswith("conv")] + ["fc"]
    side_a = Side(model_a, size, names, LAYER)
    side_b = Side(model_b, size, [n for n, _ in model_b.named_children() if n.startswith("conv")] + ["fc"], LAYER)

    def sync() -> None:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    def plain() -> None:
        with torch.no_grad():
            for images in batches:
                model_a(images), model_b(images)
        sync()

    def matched() -> None:
        stats = measure(side_a, side_b, batches, args.device)
        analyse(stats, side_a.layers, side_b.layers, LAYER, LAYER, {}, {})
        sync()

    stats = measure(side_a, side_b, batches, args.device)
    start = time.perf_counter()
    result = analyse(stats, side_a.layers, side_b.layers, LAYER, LAYER, {}, {})
    analyse_s = time.perf_counter() - start
    plain_s, matched_s = best_of(args.repeats, plain, matched)
    print(f"machine: {platform.machine()} {platform.system()}, {args.device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"demo/{LAYER} ~ demo-b/{LAYER}: {len(result.targets_a)} x {len(result.targets_b)} units, "
          f"{args.images} synthetic images at {size} px, CKA of {len(side_a.layers)} x {len(side_b.layers)} layers")
    print(f"drawing the images (once, not in either time): {drawing_s * 1e3:9.1f} ms")
    print(f"plain forward passes (both models): {plain_s * 1e3:9.1f} ms")
    print(f"measure + analyse:                  {matched_s * 1e3:9.1f} ms  ratio {matched_s / plain_s:.2f} "
          f"(target <= 2); of which analyse {analyse_s * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
