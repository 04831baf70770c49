"""Peak memory of streaming a dataset through a real ImageNet model on the CPU, against
holding the whole dataset's activations, in one run.

    python -m benchmarks.memory [--n 2000] [--batch-size 64] [--weights PATH]

MobileNetV2 (``examples.mobilenet_v2``; the published weights if ``--weights`` names
them or the cache has them, else random ones: memory does not depend on the values) over
``--n`` images of the ``package:skimage`` dataset at 224 px (the 26 photographs scikit-
image ships, augmented). Each case runs in a fresh process and reports that process's peak
resident set size (``ru_maxrss``):

- ``floor``: the model, the dataset object and one batch's forward pass: what any run costs;
- ``capture``: per-unit statistics (mean, mean square, max of each image's spatial mean)
  of three layers' full maps, streamed with ``iter_activations``;
- ``hold-all`` (the baseline): the same three layers' full maps of every image, as
  ``collect_activations(..., reduction=None)`` returns them;
- ``examples-chunk`` and ``examples-layer``: ``top_examples`` (k=9) and the PNG blobs of
  one job's chunk of 64 units, and of every unit of the layer.

Target: every streamed case below 2 GB whatever ``--n`` is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import torch

LAYERS = ["features.7.conv.0.0", "features.14.conv.0.0", "features.18.0"]
EXAMPLES_LAYER = "features.14.conv.0.0"
CHUNK_UNITS = 64
CASES = ("floor", "capture", "hold-all", "examples-chunk", "examples-layer")
TARGET_BYTES = 2 * 1024**3


def _model(weights: str | None) -> torch.nn.Module:
    from atlas.compute.models.loading import load_weights
    from examples.mobilenet_v2 import build
    from examples.weights import WEIGHTS, cache_dir

    model = build()
    path = weights or str(cache_dir() / WEIGHTS["mobilenet_v2"].filename)
    if os.path.isfile(path):
        load_weights(model, path, WEIGHTS["mobilenet_v2"].sha256)
    return model.eval()


def _dataset(n: int) -> torch.utils.data.Dataset:
    from atlas.compute.datasets.spec import open_dataset, parse_dataset

    return open_dataset(parse_dataset(f"package:skimage:{n}", 224))


def _run_case(case: str, n: int, batch_size: int, weights: str | None) -> dict:
    from atlas.compute.capture import collect_activations, iter_activations
    from atlas.compute.examples import example_blobs, top_examples
    from atlas.db.blobs import BlobStore

    model, dataset = _model(weights), _dataset(n)
    start = time.perf_counter()
    detail: dict = {}
    if case == "floor":
        with torch.no_grad():
            model(torch.stack([dataset[i][0] for i in range(batch_size)]))
    elif case == "capture":
        stats = {}
        for batch in iter_activations(model, LAYERS, dataset, batch_size):
            for name, act in batch.activations.items():
                pooled = act.mean(dim=(2, 3))
                total, squares, top = stats.get(name, (0.0, 0.0, torch.full_like(pooled[0], -torch.inf)))
                stats[name] = (total + pooled.sum(0), squares + (pooled**2).sum(0), torch.maximum(top, pooled.amax(0)))
        detail["units"] = sum(int(s[0].numel()) for s in stats.values())
    elif case == "hold-all":
        held = collect_activations(model, LAYERS, dataset, batch_size, reduction=None)
        detail["held_bytes"] = sum(t.numel() * t.element_size() for t in held.values())
    else:
        units = range(CHUNK_UNITS) if case == "examples-chunk" else None
        result = top_examples(model, EXAMPLES_LAYER, dataset, units, k=9, batch_size=batch_size)
        with tempfile.TemporaryDirectory() as root:
            blobs = BlobStore(root)
            for row in range(len(result.targets)):
                example_blobs(blobs, result, row)
        detail["units"] = len(result.targets)
    detail["seconds"] = round(time.perf_counter() - start, 1)
    detail["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return detail


def _measure(case: str, args: argparse.Namespace) -> dict:
    """``case`` in a fresh process: its peak is its own."""
    command = [sys.executable, "-m", "benchmarks.memory", "--one", case, "--n", str(args.n),
               "--batch-size", str(args.batch_size)] + (["--weights", args.weights] if args.weights else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _gb(n: float) -> str:
    return f"{n / 1024**3:.2f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--weights")
    parser.add_argument("--one", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_run_case(args.one, args.n, args.batch_size, args.weights)))
        return
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}, torch {torch.__version__}, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    print(f"MobileNetV2, package:skimage:{args.n} at 224 px, batch {args.batch_size}; layers {', '.join(LAYERS)}")
    results = {}
    for case in CASES:
        r = results[case] = _measure(case, args)
        extra = ", ".join(f"{k}={_gb(v) if k.endswith('bytes') else v}" for k, v in r.items() if k != "peak_rss_bytes")
        print(f"{case:15s} peak RSS {_gb(r['peak_rss_bytes']):>8s}  ({extra})", flush=True)
    floor, base = results["floor"]["peak_rss_bytes"], results["hold-all"]["peak_rss_bytes"]
    for case in ("capture", "examples-chunk", "examples-layer"):
        peak = results[case]["peak_rss_bytes"]
        print(f"{case}: {_gb(peak)}, {_gb(peak - floor)} above the floor; hold-all/{case} = {base / peak:.2f}x; "
              f"target < 2 GB: {'met' if peak < TARGET_BYTES else 'MISSED'}")


if __name__ == "__main__":
    main()
