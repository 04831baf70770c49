"""`atlas compute …`: enqueue compute over a layer and run or watch it."""

from __future__ import annotations

import argparse
from typing import TypedDict

from atlas.catalog import Catalog
from atlas.catalog.records import JobInfo, LayerInfo
from atlas.cli.common import open_catalog
from atlas.compute.datasets.spec import DATASET_FORMS, parse_dataset
from atlas.compute.datasets.sweep_spec import MAX_SWEEP_STEPS, SWEEPS, check_sweep, parse_sweep
from atlas.errors import InvalidInput
from atlas.vocabulary import (
    ACTIVATION_SITES,
    CONNECTION_KINDS,
    DEFAULT_CHUNK_UNITS,
    DIRECTION_CONNECTIONS_KIND,
    EXAMPLES_CHUNK_UNITS,
    EXECUTORS,
    TUNING_CHUNK_UNITS,
    VIS_CHUNK_UNITS,
    VIS_KINDS,
)

MAX_UNIT = 1_000_000  # no layer has this many channels: a bound before any range() is made
SHOWN_UNITS = 20  # the most selective units `compute tuning` prints


def parse_units(text: str | None, limit: int = MAX_UNIT) -> list[int] | None:
    """``0,3,8-15`` -> [0, 3, 8, …, 15]; None means every unit. Every number is checked
    against ``limit`` (a layer's channel count, or a bound no layer reaches) before a
    range is made, so ``0-300000000`` is one line at once, not gigabytes of list."""
    if not text:
        return None
    units: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        low, high = _unit(first, text, limit), _unit(last or first, text, limit)
        if low > high:
            raise InvalidInput(f"invalid --units {text!r}: {part.strip()} is an empty range")
        units += range(low, high + 1)
    return units


def _unit(number: str, text: str, limit: int) -> int:
    if not (number.isascii() and number.isdigit()):
        raise InvalidInput(f"invalid --units {text!r}: use e.g. 0,3,8-15")
    if len(number) > len(str(limit)) or int(number) >= limit:
        raise InvalidInput(f"invalid --units {text!r}: unit {number} is out of range (units 0 to {limit - 1})")
    return int(number)


def _layers(catalog: Catalog, args: argparse.Namespace) -> list[LayerInfo]:
    if args.layer:
        return [catalog.layer(f"{args.model}/{args.layer}")]
    return [layer for layer in catalog.layers(args.model) if layer.spatial_shape]


def finish_jobs(catalog: Catalog, args: argparse.Namespace, kinds: tuple[str, ...], ids: list[int],
                what: str) -> list[JobInfo]:
    """Say what was queued (``what``: for what), then run the jobs here (only these: never
    other users' queued jobs), or watch workers run them (--wait), or return (--no-wait);
    the jobs run now, not those found done."""
    from atlas.compute.run import run_jobs

    print(f"{len(ids)} {kinds[0]} jobs for {what}")
    # Jobs are deduplicated: the same compute queued again finds its jobs, done ones too.
    done = {job.id for job in catalog.jobs_by_id(ids) if job.status == "done"}
    if ids and len(done) == len(ids):
        print(f"all {len(ids)} jobs were already done: nothing recomputed"
              + ("" if args.force else " (use --force to recompute)"))
        return []
    if done:
        print(f"{len(done)} of them were already done")
    if args.no_wait:
        return []
    jobs = run_jobs(catalog, ids, kinds, description=kinds[0], **run_settings(args))
    return [job for job in jobs if job.id not in done]


def _run_chunks(args: argparse.Namespace, kind: str, params: dict) -> list[JobInfo]:
    """Queue ``kind`` over the chosen layers and units, run it as ``finish_jobs`` says, and
    return the jobs run here."""
    catalog = open_catalog(args)
    layers = _layers(catalog, args)
    ids = []
    directions = [name.strip() for name in (args.directions or "").split(",") if name.strip()]
    if directions and not args.layer:
        raise InvalidInput("--directions needs --layer: directions belong to one layer")
    for layer in layers:
        units = parse_units(args.units, layer.channels)
        ids += catalog.enqueue_layer_compute(kind, f"{args.model}/{layer.name}", args.chunk_size, params,
                                             units=units, directions=directions)
    jobs = finish_jobs(catalog, args, (kind,), ids, f"{args.model} ({', '.join(layer.name for layer in layers)})")
    if jobs:
        print(f"done: {sum((j.result or {}).get('rendered', 0) for j in jobs)} new, "
              f"{sum((j.result or {}).get('skipped', 0) for j in jobs)} already there")
    return jobs


def layer_pairs(catalog: Catalog, model: str, pair: str | None) -> list[tuple[str, str]]:
    """``src:dst`` or, by default, every pair of adjacent spatial layers of the model."""
    if pair:
        src, _, dst = pair.partition(":")
        if not dst:
            raise InvalidInput(f"invalid --pair {pair!r}: use SRC:DST, e.g. mixed3a:mixed3b")
        return [(catalog.layer(f"{model}/{src}").name, catalog.layer(f"{model}/{dst}").name)]
    names = [l.name for l in catalog.layers(model) if l.spatial_shape]
    return list(zip(names, names[1:]))


def cmd_connections(args: argparse.Namespace) -> None:
    catalog = open_catalog(args)
    dataset = None
    if getattr(args, "dataset", None):
        dataset = parse_dataset(args.dataset, catalog.model(args.model).input_size)
    if getattr(args, "directions", None):
        _direction_connections(catalog, args, dataset)
        return
    if getattr(args, "layer", None):
        raise InvalidInput("--layer goes with --directions; a layer pair is --pair SRC:DST")
    pairs = layer_pairs(catalog, args.model, args.pair)
    ids = []
    for src, dst in pairs:
        ids += catalog.enqueue_connections(f"{args.model}/{src}", f"{args.model}/{dst}", args.edge_kind, args.k,
                                           args.chunk_size, force=args.force, dataset=dataset)
    jobs = finish_jobs(catalog, args, CONNECTION_KINDS, ids,
                       f"{args.model} ({', '.join(f'{s}->{d}' for s, d in pairs)})")
    if jobs:
        print(f"done: {sum((j.result or {}).get('edges', 0) for j in jobs)} {args.edge_kind} edges")


def _direction_connections(catalog: Catalog, args: argparse.Namespace, dataset: dict | None) -> None:
    """The connections of ``--directions`` of ``--layer``: inputs from the layer before,
    outputs onto the layer after."""
    names = [name.strip() for name in args.directions.split(",") if name.strip()]
    if not args.layer or args.pair:
        raise InvalidInput("--directions needs --layer (and no --pair): directions belong to one layer")
    ids = catalog.enqueue_direction_connections(f"{args.model}/{args.layer}", names, args.edge_kind, args.k,
                                                args.force, dataset)
    jobs = finish_jobs(catalog, args, (DIRECTION_CONNECTIONS_KIND,), ids,
                       f"{args.model} ({args.layer} directions {', '.join(names)})")
    for job in jobs:
        print(f"done: {(job.result or {}).get('edges', 0)} {args.edge_kind} edges "
              f"({(job.result or {}).get('side')}puts of {', '.join(names)})")


def cmd_examples(args: argparse.Namespace) -> None:
    catalog = open_catalog(args)
    dataset = parse_dataset(args.dataset, catalog.model(args.model).input_size)
    _run_chunks(args, "examples", {"dataset": dataset, "k": args.k, "force": args.force})


def cmd_tuning(args: argparse.Namespace) -> None:
    spec = parse_sweep(args.sweep, args.steps, args.option or ())
    if "size" not in spec:
        spec = check_sweep({**spec, "size": open_catalog(args).model(args.model).input_size})
    jobs = _run_chunks(args, "tuning", {"sweep": spec, "force": args.force})
    units = [(job.params["layer"], row) for job in jobs for row in (job.result or {}).get("units", [])]
    if units:
        parameter = (jobs[0].result or {}).get("parameter", args.sweep)
        shown = sorted(units, key=lambda item: -item[1]["selectivity"])[:SHOWN_UNITS]
        print(f"most selective of {len(units)} units (preferred {parameter}, selectivity):")
        for layer, row in shown:
            print(f"  {args.model}/{layer}/{row['unit']}  {row['preferred']:.4g}  {row['selectivity']:.3f}")


def cmd_vis(args: argparse.Namespace) -> None:
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    render = {"size": args.size, "steps": args.steps, "lr": args.lr, "seed": args.seed, "site": args.site}
    if args.cossim_pow:
        render["cossim_pow"] = args.cossim_pow
    _run_chunks(args, "vis", {"kinds": kinds, "render": render, "force": args.force})


def _common(parser: argparse.ArgumentParser, chunk: int, units: bool = True) -> None:
    parser.add_argument("--model", required=True)
    if units:
        parser.add_argument("--layer", help="one layer (default: every layer of the model)")
        parser.add_argument("--units", help="e.g. 0,3,8-15 (default: every unit, or none with --directions)")
        parser.add_argument("--directions", help="names of the layer's directions, comma-separated (e.g. nmf8-0,curve)")
    parser.add_argument("--chunk-size", type=int, default=chunk,
                        help=f"units per job (default: {chunk})" + ("" if units else "; destination units"))
    parser.add_argument("--force", action="store_true", help="recompute and replace what exists")
    run_options(parser)


def run_options(parser: argparse.ArgumentParser) -> None:
    """Where the jobs of a command run: here (default), on a Ray cluster (--executor ray),
    on workers (--wait), later (--no-wait). Called after the command's handler is set: the
    handler is wrapped so that a contradictory choice is refused before anything is queued."""
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--wait", action="store_true", help="enqueue and watch while `atlas worker`s run the jobs")
    mode.add_argument("--no-wait", action="store_true", help="enqueue and return")
    mode.add_argument("--executor", choices=EXECUTORS, help="run the jobs here (local, the default) or as tasks "
                      "on a Ray cluster (ray: needs the ray extra; see docs/scaling-out.md)")
    parser.add_argument("--ray-address", help="the Ray cluster of --executor ray (default: $RAY_ADDRESS, a "
                        "cluster started on this machine with `ray start`, else a new local Ray instance)")
    handler = parser.get_default("handler")
    if handler is None:
        raise TypeError("run_options() is called after the command's handler is set")
    parser.set_defaults(handler=lambda args: handler(_checked_run_options(args)))


def _checked_run_options(args: argparse.Namespace) -> argparse.Namespace:
    if args.ray_address is not None and args.executor != "ray":
        raise InvalidInput("--ray-address goes with --executor ray")
    if args.executor == "ray":
        from atlas.compute.ray_executor import require_ray

        require_ray()
    return args


class RunSettings(TypedDict):
    """``run_jobs``'s keyword arguments that say where the jobs run."""

    device: str
    local: bool
    executor: str
    ray_address: str | None


def run_settings(args: argparse.Namespace) -> RunSettings:
    """``run_jobs``'s keyword arguments from the options of ``run_options``."""
    return {"device": args.device, "local": not args.wait, "executor": args.executor or "local",
            "ray_address": args.ray_address}


def register(sub: argparse._SubParsersAction) -> None:
    compute = sub.add_parser("compute", help="compute the atlas of a model (through the job queue)",
                             description="Compute the atlas of a model. By default the jobs run in this "
                             "process with a progress bar; --wait leaves them to workers and shows progress; "
                             "--no-wait only enqueues.")
    compute_sub = compute.add_subparsers(dest="compute_command", metavar="COMMAND", required=True)
    vis = compute_sub.add_parser("vis", help="feature visualizations", description="feature visualizations "
                                 "(stored as vis.<kind> artifacts; existing ones are skipped unless --force)")
    vis.set_defaults(handler=cmd_vis)
    _common(vis, chunk=VIS_CHUNK_UNITS)
    vis.add_argument("--kinds", default="channel", help=f"comma-separated: {','.join(VIS_KINDS)}")
    vis.add_argument("--size", type=int, default=128)
    vis.add_argument("--steps", type=int, default=512)
    vis.add_argument("--lr", type=float, default=0.05)
    vis.add_argument("--seed", type=int, default=0)
    vis.add_argument("--cossim-pow", type=float, default=0.0,
                     help="a direction's objective weighted by its cosine similarity to this power (Lucid's "
                          "cossim_pow; 0: the plain dot product)")
    vis.add_argument("--site", choices=ACTIVATION_SITES, default="pre",
                     help="read each unit before its nonlinearity (pre, the default, as Lucid's *_pre_relu) "
                     "or at the layer's output (post)")
    for edge_kind, about in (("direct", "direct weights between adjacent layers (InceptionV1 branches "
                                        "and concatenations included)"),
                             ("expanded", "expanded weights through the linearized network"),
                             ("attribution", "activation x gradient edges averaged over a dataset")):
        name = "connections" if edge_kind == "direct" else edge_kind
        command = compute_sub.add_parser(name, help=about, description=f"{about}; top-k inputs and outputs "
                                         "per unit with their kernels. A layer pair is computed in jobs of "
                                         "--chunk-size destination units, then ranked by one more job.")
        command.set_defaults(handler=cmd_connections, edge_kind=edge_kind)
        _common(command, chunk=DEFAULT_CHUNK_UNITS, units=False)
        command.add_argument("--pair", help="SRC:DST (default: every pair of adjacent layers)")
        command.add_argument("-k", type=int, default=20, help="inputs and outputs kept per unit")
        if edge_kind != "attribution":
            command.add_argument("--layer", help="the layer of --directions")
            command.add_argument("--directions", help="names of --layer's directions, comma-separated: their "
                                 "inputs from the layer before and outputs onto the layer after")
        if edge_kind == "attribution":
            command.add_argument("--dataset", default="synthetic:512", help=DATASET_FORMS)
        if edge_kind == "expanded":
            command.add_argument("--dataset", help="images whose mean activations local response normalization "
                                 "is linearized at: " + DATASET_FORMS + " (default: 64 synthetic images)")
    examples = compute_sub.add_parser("examples", help="top and bottom dataset examples per unit",
                                      description="top-k and bottom-k dataset images per unit, with the "
                                      "receptive-field crop around the strongest position")
    examples.set_defaults(handler=cmd_examples)
    _common(examples, chunk=EXAMPLES_CHUNK_UNITS)
    examples.add_argument("-k", type=int, default=9)
    examples.add_argument("--dataset", default="synthetic:2000", help=DATASET_FORMS)
    tuning = compute_sub.add_parser("tuning", help="tuning curves along a parametric stimulus sweep",
                                    description="every unit's response (max over positions) to each image of "
                                    "a synthetic sweep, stored as tuning_curve artifacts with a plot, the "
                                    "preferred value and the selectivity (docs/science.md)")
    tuning.set_defaults(handler=cmd_tuning)
    _common(tuning, chunk=TUNING_CHUNK_UNITS)
    tuning.add_argument("--sweep", required=True, help=f"one of {', '.join(SWEEPS.names())}")
    tuning.add_argument("--steps", default="36", help=f"conditions along the sweep, 1 to {MAX_SWEEP_STEPS:,}")
    tuning.add_argument("--option", action="append", metavar="KEY=VALUE",
                        help="a sweep option, e.g. stimulus=line (orientation) or orientation=45 (frequency)")
