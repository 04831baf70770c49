"""`atlas compute …`: enqueue compute over a layer and run or watch it."""

from __future__ import annotations

import argparse

from atlas.catalog import Catalog
from atlas.cli_common import open_catalog
from atlas.datasets.spec import parse_dataset
from atlas.errors import InvalidInput
from atlas.jobs.pairs import DEFAULT_CHUNK_UNITS


def parse_units(text: str | None) -> list[int] | None:
    """``0,3,8-15`` -> [0, 3, 8, …, 15]; None means every unit."""
    if not text:
        return None
    units: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            units += list(range(int(first), int(last or first) + 1))
    except ValueError:
        raise InvalidInput(f"invalid --units {text!r}: use e.g. 0,3,8-15") from None
    return units


def _layers(catalog: Catalog, args: argparse.Namespace) -> list[str]:
    return [args.layer] if args.layer else [l.name for l in catalog.layers(args.model) if l.spatial_shape]


def _finish(catalog: Catalog, args: argparse.Namespace, kinds: tuple[str, ...], ids: list[int],
            what: str) -> list:
    from atlas.compute import run_jobs

    print(f"{len(ids)} {kinds[0]} jobs for {args.model} ({what})")
    if args.no_wait:
        return []
    return run_jobs(catalog, ids, kinds, args.device, local=not args.wait, description=kinds[0])


def _run_chunks(args: argparse.Namespace, kind: str, params: dict) -> None:
    from atlas.jobs.chunks import enqueue_layer_chunks

    catalog = open_catalog(args)
    layers = _layers(catalog, args)
    ids = []
    for layer in layers:
        ids += enqueue_layer_chunks(catalog, kind, args.model, layer, parse_units(args.units),
                                    args.chunk_size, params)
    jobs = _finish(catalog, args, (kind,), ids, ", ".join(layers))
    if jobs:
        print(f"done: {sum((j.result or {}).get('rendered', 0) for j in jobs)} new, "
              f"{sum((j.result or {}).get('skipped', 0) for j in jobs)} already there")


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
    from atlas.jobs.pairs import CONNECTION_KINDS, enqueue_connections

    catalog = open_catalog(args)
    pairs = layer_pairs(catalog, args.model, args.pair)
    dataset = None
    if args.edge_kind == "attribution":
        dataset = parse_dataset(args.dataset, catalog.model(args.model).input_size)
    ids = []
    for src, dst in pairs:
        ids += enqueue_connections(catalog, args.model, src, dst, args.edge_kind, args.k, args.chunk_size,
                                   args.force, dataset)
    jobs = _finish(catalog, args, CONNECTION_KINDS, ids, ", ".join(f"{s}->{d}" for s, d in pairs))
    if jobs:
        print(f"done: {sum((j.result or {}).get('edges', 0) for j in jobs)} {args.edge_kind} edges")


def cmd_examples(args: argparse.Namespace) -> None:
    catalog = open_catalog(args)
    dataset = parse_dataset(args.dataset, catalog.model(args.model).input_size)
    _run_chunks(args, "examples", {"dataset": dataset, "k": args.k, "force": args.force})


def cmd_vis(args: argparse.Namespace) -> None:
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    render = {"size": args.size, "steps": args.steps, "lr": args.lr, "seed": args.seed}
    _run_chunks(args, "vis", {"kinds": kinds, "render": render, "force": args.force})


def _common(parser: argparse.ArgumentParser, chunk: int, units: bool = True) -> None:
    parser.add_argument("--model", required=True)
    if units:
        parser.add_argument("--layer", help="one layer (default: every layer of the model)")
        parser.add_argument("--units", help="e.g. 0,3,8-15 (default: every unit)")
    parser.add_argument("--chunk-size", type=int, default=chunk,
                        help=f"units per job (default: {chunk})" + ("" if units else "; destination units"))
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--force", action="store_true", help="recompute and replace what exists")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--wait", action="store_true", help="enqueue and watch while `atlas worker`s run the jobs")
    mode.add_argument("--no-wait", action="store_true", help="enqueue and return")


def register(sub: argparse._SubParsersAction) -> None:
    compute = sub.add_parser("compute", help="compute the atlas of a model (through the job queue)",
                             description="Compute the atlas of a model. By default the jobs run in this "
                             "process with a progress bar; --wait leaves them to workers and shows progress; "
                             "--no-wait only enqueues.")
    compute_sub = compute.add_subparsers(dest="compute_command", metavar="COMMAND", required=True)
    vis = compute_sub.add_parser("vis", help="feature visualizations", description="feature visualizations "
                                 "(stored as vis.<kind> artifacts; existing ones are skipped unless --force)")
    vis.set_defaults(handler=cmd_vis)
    _common(vis, chunk=32)
    vis.add_argument("--kinds", default="channel", help="comma-separated: channel,neuron,negative,diversity")
    vis.add_argument("--size", type=int, default=128)
    vis.add_argument("--steps", type=int, default=512)
    vis.add_argument("--lr", type=float, default=0.05)
    vis.add_argument("--seed", type=int, default=0)
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
        if edge_kind == "attribution":
            command.add_argument("--dataset", default="synthetic:512", help="synthetic:N or folder:PATH")
    examples = compute_sub.add_parser("examples", help="top and bottom dataset examples per unit",
                                      description="top-k and bottom-k dataset images per unit, with the "
                                      "receptive-field crop around the strongest position")
    examples.set_defaults(handler=cmd_examples)
    _common(examples, chunk=64)
    examples.add_argument("-k", type=int, default=9)
    examples.add_argument("--dataset", default="synthetic:2000", help="synthetic:N or folder:PATH")
