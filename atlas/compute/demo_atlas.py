"""The demo atlas: what `make demo` builds on a laptop's CPU, offline.

It creates the embedded catalogue, registers the two demo models (weights shipped in
seed_data/demo), loads their curated seed, and computes their atlas through the job queue
with a local worker: channel visualizations of every unit, negative and diversity ones of
the units a researcher opens first (``DemoSettings.detail_kinds``), direct and expanded
weights between adjacent layers, and dataset examples. Every step is idempotent, so running it
again only does what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from atlas.address import parse_feature, parse_layer
from atlas.catalog import Catalog
from atlas.compute.datasets.spec import parse_dataset
from atlas.compute.models import SEED_DEMO_DIR
from atlas.compute.registration import register_model
from atlas.compute.run import run_jobs
from atlas.errors import NotFound
from atlas.exchange.seed import SEED_DIR
from atlas.vocabulary import CONNECTION_KINDS, DEMO_VIS_LR, DEMO_VIS_STEPS, EXAMPLES_CHUNK_UNITS, VIS_CHUNK_UNITS

DEMO_MODELS = ("demo", "demo-b")


@dataclass(frozen=True)
class DemoSettings:
    """Small enough for a 2-core CPU in minutes; the same code scales up on a GPU.

    Every unit gets its ``vis_kinds`` (the channel visualization); the ``detail_kinds``
    (negative and diversity: five more images a unit) go to the units a researcher opens
    first, those of the seed's circuits, and to every unit of ``detail_layers`` (none by
    default: the budget does not allow one). All of them for every unit would take the
    demo's rendering from minutes to more than half an hour (docs/science.md, "Demo
    render settings")."""

    vis_size: int = 64
    vis_steps: int = DEMO_VIS_STEPS  # why these two: atlas/vocabulary.py
    vis_lr: float = DEMO_VIS_LR
    vis_kinds: tuple[str, ...] = ("channel",)
    detail_kinds: tuple[str, ...] = ("negative", "diversity")
    detail_layers: tuple[str, ...] = ()
    # The diversity penalty needs the longer render to separate a group: at 128 steps and
    # lr 0.15 the images of demo conv4/2 differed less than twice the unpenalized control's
    detail_steps: int = 256
    detail_lr: float = 0.1
    examples: str = "synthetic:1200"
    examples_k: int = 6
    connections_k: int = 12
    connections_chunk: int = 32  # destination units per connections job
    device: str = "auto"

    def render(self) -> dict:
        """The ``render`` parameters of the demo's channel ``vis`` jobs (``RenderParams`` fields)."""
        return {"size": self.vis_size, "steps": self.vis_steps, "lr": self.vis_lr}

    def detail_render(self) -> dict:
        """The ``render`` parameters of its ``detail_kinds`` jobs."""
        return {"size": self.vis_size, "steps": self.detail_steps, "lr": self.detail_lr}


def detail_units(catalog: Catalog, settings: DemoSettings) -> dict[str, list[int]]:
    """``model/layer`` -> the units that get ``detail_kinds``: every unit of the
    ``detail_layers`` and each unit in a circuit of the catalogue (the demo seed's;
    directions have no channel to render and are left out)."""
    units: dict[str, set[int]] = {}
    for layer in settings.detail_layers:
        address = parse_layer(layer)
        units[str(address)] = set(range(catalog.layer(address).channels))
    for name in catalog.circuits():
        for node, _ in catalog.circuit(name).nodes:
            feature = parse_feature(node)
            if feature.channel is not None and feature.model in DEMO_MODELS:
                units.setdefault(str(feature.layer_address), set()).add(feature.channel)
    return {layer: sorted(chosen) for layer, chosen in units.items()}


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
    detail = {"kinds": list(settings.detail_kinds), "render": settings.detail_render(), "force": False}
    details = detail_units(catalog, settings)
    for model in DEMO_MODELS:
        layers = [f"{model}/{layer.name}" for layer in catalog.layers(model) if layer.spatial_shape]
        dataset = parse_dataset(settings.examples, catalog.model(model).input_size)
        for layer in layers:
            jobs[("vis",)] += catalog.enqueue_layer_compute("vis", layer, VIS_CHUNK_UNITS, vis)
            if layer in details:
                jobs[("vis",)] += catalog.enqueue_layer_compute("vis", layer, VIS_CHUNK_UNITS, detail,
                                                                units=details[layer])
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
