"""`atlas compute …`: enqueue compute over a layer and run or watch it."""

from __future__ import annotations

import argparse

from atlas.catalog import Catalog
from atlas.errors import InvalidInput


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


def _run(args: argparse.Namespace, kind: str, params: dict) -> None:
    from atlas.compute import run_jobs
    from atlas.jobs.chunks import enqueue_layer_chunks

    catalog = Catalog.open(args.db, args.blobs, args.user)
    layers = [args.layer] if args.layer else [l.name for l in catalog.layers(args.model)]
    ids = []
    for layer in layers:
        ids += enqueue_layer_chunks(catalog, kind, args.model, layer, parse_units(args.units),
                                    args.chunk_size, params)
    print(f"{len(ids)} {kind} jobs for {args.model} ({', '.join(layers)})")
    if args.no_wait:
        return
    jobs = run_jobs(catalog, ids, [kind], args.device, local=not args.wait, description=kind)
    print(f"done: {sum((j.result or {}).get('rendered', 0) for j in jobs)} new, "
          f"{sum((j.result or {}).get('skipped', 0) for j in jobs)} already there")


def cmd_vis(args: argparse.Namespace) -> None:
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    render = {"size": args.size, "steps": args.steps, "lr": args.lr, "seed": args.seed}
    _run(args, "vis", {"kinds": kinds, "render": render, "force": args.force})


def _common(parser: argparse.ArgumentParser, chunk: int) -> None:
    parser.add_argument("--model", required=True)
    parser.add_argument("--layer", help="one layer (default: every layer of the model)")
    parser.add_argument("--units", help="e.g. 0,3,8-15 (default: every unit)")
    parser.add_argument("--chunk-size", type=int, default=chunk, help="units per job")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
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
    vis.add_argument("--force", action="store_true", help="recompute and replace existing visualizations")
