"""Expanded weights between every pair of adjacent named layers of InceptionV1, stored.

    python -m benchmarks.connections [--device cpu] [--k 20]

InceptionV1 with random weights (no download): ``conv2d0 -> conv2d1`` ... ``mixed5a ->
mixed5b``, through the linearized network (max-pools, LRN and each mixed block's branches,
so these are expanded weights), top-k inputs and outputs per unit with their float16
kernels, computed and inserted into a fresh SQLite catalogue. Prints the time per pair
and in all (target <= 60 s on the 2-core CPU), the speed-up of batching many L2 units per
backward pass over one unit per pass (measured on a sample of units of one pair), and the
same pairs through the job queue (chunk jobs of destination units and a ranking job per
pair, one local worker) against computing each pair at once.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time

import torch

from atlas import Catalog
from atlas.compute.connections import expanded_connections, store_connections
from atlas.compute.connections.linear import expanded_kernels
from atlas.compute.models import discover_layers
from atlas.compute.models.inceptionv1 import INPUT_SIZE, InceptionV1
from atlas.compute.registration import register_model
from atlas.compute.run import run_jobs
from atlas.jobs.runtime import enqueue_connections
from atlas.vocabulary import CONNECTION_KINDS

SAMPLE_UNITS = 16


def per_unit_speedup(model: InceptionV1, batch_units: int) -> tuple[float, float]:
    """Seconds per unit for mixed3a -> mixed3b, one unit per pass vs batched."""
    units = torch.arange(SAMPLE_UNITS)
    start = time.perf_counter()
    expanded_kernels(model, "mixed3a", "mixed3b", INPUT_SIZE, units=units, batch_units=1)
    single = (time.perf_counter() - start) / SAMPLE_UNITS
    start = time.perf_counter()
    expanded_kernels(model, "mixed3a", "mixed3b", INPUT_SIZE, batch_units=batch_units)
    batched = (time.perf_counter() - start) / 480
    return single, batched


def through_jobs(model: InceptionV1, names: list[str], k: int, device: str, chunk: int) -> tuple[float, int, int]:
    """(seconds, edges, jobs) for every pair as chunk jobs and ranking jobs run by one local
    worker, into a fresh SQLite catalogue with the model registered from a weights file."""
    with tempfile.TemporaryDirectory() as tmp:
        weights = f"{tmp}/inceptionv1.pt"
        torch.save(model.state_dict(), weights)
        cat = Catalog.init(f"sqlite:///{tmp}/atlas.db", f"{tmp}/blobs", admin="bench")
        register_model(cat, "inceptionv1", "inceptionv1", weights)
        start = time.perf_counter()
        ids = [job for src, dst in itertools.pairwise(names)
               for job in enqueue_connections(cat, "inceptionv1", src, dst, "expanded", k, chunk)]
        run_jobs(cat, ids, CONNECTION_KINDS, device, description="jobs")
        seconds = time.perf_counter() - start
        edges = cat.stats()["edges"]
        cat.close()
    return seconds, edges, len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--batch-units", type=int, default=128)
    parser.add_argument("--chunk", type=int, default=128, help="destination units per job")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = InceptionV1().eval().to(args.device)
    specs = discover_layers(model, (3, INPUT_SIZE, INPUT_SIZE))
    names = [s.name for s in specs]
    with tempfile.TemporaryDirectory() as tmp:
        cat = Catalog.init(f"sqlite:///{tmp}/atlas.db", f"{tmp}/blobs", admin="bench")
        cat.add_model("inceptionv1", "inceptionv1", layers=[
            {"name": s.name, "kind": s.kind, "channels": s.channels,
             "spatial_shape": list(s.spatial_shape)} for s in specs])
        total_start = time.perf_counter()
        compute_s = store_s = 0.0
        edges = 0
        for src, dst in itertools.pairwise(names):
            start = time.perf_counter()
            conn = expanded_connections(model, src, dst, k=args.k, device=args.device,
                                        batch_units=args.batch_units, input_size=INPUT_SIZE)
            middle = time.perf_counter()
            edges += store_connections(cat, "inceptionv1", conn)
            end = time.perf_counter()
            compute_s, store_s = compute_s + middle - start, store_s + end - middle
            print(f"{src:>8} -> {dst:<8} kernels {tuple(conn.kernels.shape[1:])}: "
                  f"{len(conn):6,} edges, compute {middle - start:6.2f} s, store {end - middle:5.2f} s",
                  flush=True)
        total = time.perf_counter() - total_start
        cat.close()
    print(f"total: {total:.1f} s for {edges:,} edges (compute {compute_s:.1f} s, store "
          f"{store_s:.1f} s); target 60 s -> {total / 60:.2f}x of target")
    single, batched = per_unit_speedup(model, args.batch_units)
    print(f"mixed3a -> mixed3b: {single * 1000:.1f} ms/unit one unit per pass, "
          f"{batched * 1000:.1f} ms/unit batched ({args.batch_units} per pass): "
          f"{single / batched:.1f}x")
    seconds, job_edges, jobs = through_jobs(model, names, args.k, args.device, args.chunk)
    print(f"through the job queue ({jobs} jobs: chunks of {args.chunk} units and a ranking job per pair, "
          f"one local worker): {seconds:.1f} s for {job_edges:,} edges (same as above: {job_edges == edges}); "
          f"ratio to computing each pair at once {seconds / total:.2f}")


if __name__ == "__main__":
    main()
