"""Capture throughput against a plain forward pass, in one run.

    python -m benchmarks.capture [--model demo|inceptionv1] [--n 512] [--reduction max]

Three layers spread through the model (the last one near the end, so skipping the rest of
the forward pass gains almost nothing) are captured over the same in-memory images that the
plain ``model(x)`` pass sees; data loading is left out so the ratio is the cost of the
hooks, copies and reductions. The two are timed alternately, best of ``--repeats``, so
drift in machine load hits both. Target: ratio >= 0.85.
"""

from __future__ import annotations

import argparse
import time

import torch

from atlas.compute.capture import capture
from atlas.compute.models.demo_cnn import DemoCNN
from atlas.compute.models.inceptionv1 import InceptionV1

MODELS = {
    "demo": (DemoCNN, 64, ["conv1", "conv3", "conv5"]),
    "inceptionv1": (InceptionV1, 224, ["conv2d2", "mixed4a", "mixed5b"]),
}


def _time(fn, batches: list[torch.Tensor], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for x in batches:
        fn(x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="demo")
    parser.add_argument("--n", type=int, default=512, help="images per timed pass")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--reduction", choices=["none", "max", "mean", "center"],
                        default="none")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    device = torch.device(args.device)
    build, size, layers = MODELS[args.model]
    torch.manual_seed(0)
    model = build().to(device).eval()
    batches = [torch.rand(min(args.batch_size, args.n - i), 3, size, size, device=device)
               for i in range(0, args.n, args.batch_size)]
    reduction = None if args.reduction == "none" else args.reduction

    def plain(x: torch.Tensor) -> None:
        with torch.no_grad():
            model(x)

    def hooked(x: torch.Tensor) -> None:
        capture(model, layers, x, reduction)

    _time(plain, batches[:1], device)
    _time(hooked, batches[:1], device)
    plain_s = hooked_s = float("inf")
    for _ in range(args.repeats):
        plain_s = min(plain_s, _time(plain, batches, device))
        hooked_s = min(hooked_s, _time(hooked, batches, device))
    ratio = plain_s / hooked_s
    print(f"model={args.model} device={device} n={args.n} batch={args.batch_size} "
          f"layers={','.join(layers)} reduction={args.reduction} "
          f"threads={torch.get_num_threads()}")
    print(f"plain forward: {args.n / plain_s:8.1f} images/s")
    print(f"capture      : {args.n / hooked_s:8.1f} images/s")
    print(f"ratio capture/plain: {ratio:.3f} (target >= 0.85: "
          f"{'met' if ratio >= 0.85 else 'NOT met'})")


if __name__ == "__main__":
    main()
