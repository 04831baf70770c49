"""The whole demo atlas, both demo models, timed end to end on one device.

    python -m benchmarks.demo_atlas [--device auto] [--smoke]

What `atlas demo --no-app` does, on a fresh SQLite catalogue in a temporary folder:
register the two demo models, load their seed, compute their atlas through the job queue
with a local worker (channel visualizations of every unit, negative and diversity ones of
the seed's units, direct and expanded weights, dataset examples) and run the seeded
claims. Prints the wall time of the whole and the machine. The target on one GPU is under
60 s; the baseline is the same build on the 2-core CPU development machine (3 min 51 s,
loaded: benchmarks/RESULTS.md). ``--smoke`` shrinks every setting (2 steps, 16 px, 64
example images) to check the script on a CPU in a minute or two; its time means nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from atlas import Catalog
from atlas.compute.demo_atlas import DemoSettings, build_demo
from atlas.compute.device import resolve_device
from benchmarks.optvis import machine

TARGET_SECONDS = 60.0
SMOKE = {"vis_size": 16, "vis_steps": 2, "detail_steps": 2, "examples": "synthetic:64"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--smoke", action="store_true", help="tiny settings: checks the script, times nothing")
    args = parser.parse_args()
    device = resolve_device(args.device)
    settings = DemoSettings(device=str(device), **(SMOKE if args.smoke else {}))
    with tempfile.TemporaryDirectory(prefix="atlas-demo-bench-") as folder:
        catalog = Catalog.init(f"sqlite:///{Path(folder) / 'atlas.db'}", str(Path(folder) / "blobs"), admin="bench")
        start = time.perf_counter()
        build_demo(catalog, settings)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        catalog.close()
    print(machine(device))
    print(f"demo atlas, both models{' (SMOKE settings: not a measurement)' if args.smoke else ''}: "
          f"{seconds:.1f} s end to end; target < {TARGET_SECONDS:g} s on one GPU: "
          f"{'met' if seconds < TARGET_SECONDS else 'MISSED'}")


if __name__ == "__main__":
    main()
