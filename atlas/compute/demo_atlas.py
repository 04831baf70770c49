"""The demo atlas: what `make demo` builds on a laptop's CPU, offline.

It creates the embedded catalogue, registers the two demo models (weights shipped in
seed_data/demo), loads their curated seed, and computes their atlas through the job queue
with a local worker: channel, negative and diversity visualizations of every unit, direct
and expanded weights between adjacent layers, and dataset examples. Every step is idempotent, so running it
again only does what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from atlas.catalog import Catalog
from atlas.compute.datasets.spec import parse_dataset
from atlas.compute.models import SEED_DEMO_DIR
from atlas.compute.registration import register_model
from atlas.compute.run import run_jobs
from atlas.errors import NotFound
from atlas.exchange.seed import SEED_DIR
from atlas.vocabulary import CONNECTION_KINDS, EXAMPLES_CHUNK_UNITS, VIS_CHUNK_UNITS

DEMO_MODELS = ("demo", "demo-b")


@dataclass(frozen=True)
class DemoSettings:
    """Small enough for a 2-core CPU in minutes; the same code scales up on a GPU."""

    vis_size: int = 64
    # 256 steps at lr 0.1: the median unit reaches 99% of the 512-step activation at lr
    # 0.05 and 90% of units at least 94% (128 steps at 0.05: 77%, 57%); see
    # docs/science.md, "Demo render settings"
    vis_steps: int = 256
    vis_lr: float = 0.1
    vis_kinds: tuple[str, ...] = ("channel", "negative", "diversity")
    examples: str = "synthetic:1200"
    examples_k: int = 6
    connections_k: int = 12
    connections_chunk: int = 32  # destination units per connections job
    device: str = "auto"

    def render(self) -> dict:
        """The ``render`` parameters of the demo's ``vis`` jobs (``RenderParams`` fields)."""
        return {"size": self.vis_size, "steps": self.vis_steps, "lr": self.vis_lr}


def register_demo_models(catalog: Catalog) -> list[str]:
    registered = {m.name for m in catalog.models()}
    added = []
    for name in DEMO_MODELS:
        if name in registered:
            continue
        if not (SEED_DEMO_DIR / f"{name}.safetensors").exists():
            raise NotFound(f"demo weights {SEED_DEMO_DIR / name}.safetensors are missing: "
                           f"train them with `atlas demo train --seed 0`")
        register_model(catalog, name, name)
        added.append(name)
    return added


def enqueue_demo_atlas(catalog: Catalog, settings: DemoSettings) -> dict[tuple[str, ...], list[int]]:
    """Queue the demo's compute through the catalogue (the user's role checked, audited)."""
    jobs: dict[tuple[str, ...], list[int]] = {("vis",): [], CONNECTION_KINDS: [], ("examples",): []}
    vis = {"kinds": list(settings.vis_kinds), "render": settings.render(), "force": False}
    for model in DEMO_MODELS:
        layers = [f"{model}/{layer.name}" for layer in catalog.layers(model) if layer.spatial_shape]
        dataset = parse_dataset(settings.examples, catalog.model(model).input_size)
        for layer in layers:
            jobs[("vis",)] += catalog.enqueue_layer_compute(
                "vis", layer, VIS_CHUNK_UNITS, vis)
            jobs[("examples",)] += catalog.enqueue_layer_compute(
                "examples", layer, EXAMPLES_CHUNK_UNITS, {"dataset": dataset, "k": settings.examples_k, "force": False})
        for src, dst in zip(layers, layers[1:]):
            for kind in ("direct", "expanded"):
                jobs[CONNECTION_KINDS] += catalog.enqueue_connections(src, dst, kind, settings.connections_k,
                                                                      settings.connections_chunk)
    return jobs


def run_demo_claims(catalog: Catalog, device: str) -> None:
    """Run each seeded demo claim that has not been run yet, and print its verdict (held or
    refuted, with its numbers: docs/experiments.md)."""
    for name in catalog.circuits():
        circuit = catalog.circuit(name)
        for claim in circuit.claims:
            if claim.experiment is None or claim.status != "untested":
                continue
            ids = catalog.enqueue_experiments(name, claim.id)
            run_jobs(catalog, ids, ("experiment",), device, local=True, description=f"claim {claim.id}")
            print(f"{name}, claim {claim.id}: {catalog.claim_results(claim.id)[0].result['summary']}")


def build_demo(catalog: Catalog, settings: DemoSettings = DemoSettings()) -> None:
    """Register, seed and compute the demo atlas, printing what it does."""
    added = register_demo_models(catalog)
    print(f"demo models: {', '.join(DEMO_MODELS)}" + (f" (registered {', '.join(added)})" if added else ""))
    if (SEED_DIR / "demo.seed.json").exists():
        print(f"demo seed: {catalog.load_seed('demo').summary()}")
    jobs = enqueue_demo_atlas(catalog, settings)
    for kinds, ids in jobs.items():
        run_jobs(catalog, ids, kinds, settings.device, local=True, description=f"demo {kinds[0]}")
    run_demo_claims(catalog, settings.device)
    stats = catalog.stats()
    print(f"demo atlas: {stats['units']} units, {stats['labelled']} labelled, {stats['edges']} edges, "
          f"{stats['circuits']} circuits")
