"""`atlas direction …`: make directions (from a file, a difference of means, a
factorization) and list a layer's. The computes run as jobs, here by default, like
`atlas compute` (--wait leaves them to workers, --no-wait only queues them)."""

from __future__ import annotations

import argparse

from atlas.cli.common import add_command, bounded_int, open_catalog
from atlas.cli.compute import run_options, run_settings
from atlas.compute.datasets.spec import DATASET_FORMS, MAX_SEED, parse_dataset
from atlas.text import printable
from atlas.vocabulary import MAX_FACTORS


def cmd_add(args: argparse.Namespace) -> None:
    feature = open_catalog(args).add_direction_file(args.layer, args.name, args.file)
    print(f"added {feature.address}")


def cmd_list(args: argparse.Namespace) -> None:
    catalog = open_catalog(args)
    for feature in catalog.directions(args.layer):
        label = f"  {printable(feature.label.text)}" if feature.label else ""
        print(f"{feature.address}{label}")


def _run(args: argparse.Namespace, ids: list[int], kind: str) -> None:
    from atlas.compute.run import run_jobs

    catalog = open_catalog(args)
    print(f"{len(ids)} {kind} job for {args.layer}")
    if args.no_wait:
        return
    for job in run_jobs(catalog, ids, (kind,), description=kind, **run_settings(args)):
        result = job.result or {}
        print(f"added {', '.join(f'{args.layer}/dir:{name}' for name in result.get('directions', []))}")


def cmd_diff(args: argparse.Namespace) -> None:
    catalog = open_catalog(args)
    size = catalog.model(catalog.layer(args.layer).model).input_size
    a, b = parse_dataset(args.a, size), parse_dataset(args.b, size)
    _run(args, catalog.enqueue_direction_diff(args.layer, args.name, a, b), "directions.diff")


def cmd_nmf(args: argparse.Namespace) -> None:
    catalog = open_catalog(args)
    dataset = parse_dataset(args.dataset, catalog.model(catalog.layer(args.layer).model).input_size)
    ids = catalog.enqueue_direction_nmf(args.layer, args.n, dataset, args.prefix, args.seed, args.iterations)
    _run(args, ids, "directions.nmf")


def register(sub: argparse._SubParsersAction) -> None:
    direction = sub.add_parser("direction", help="directions: features that are vectors in a layer's channel space")
    direction_sub = direction.add_subparsers(dest="direction_command", metavar="COMMAND", required=True)
    add = add_command(direction_sub, "add", cmd_add, "add a direction whose vector is in a .npy or JSON file "
                      "(one number per channel of the layer)")
    add.add_argument("layer", help="MODEL/LAYER")
    add.add_argument("name")
    add.add_argument("file", help="a .npy array (no pickles) or a JSON list of numbers")
    listing = add_command(direction_sub, "list", cmd_list, "the directions of a layer")
    listing.add_argument("layer", help="MODEL/LAYER")
    diff = add_command(direction_sub, "diff", cmd_diff, "the direction from image set B to image set A: "
                       "A's mean activation minus B's (over images and positions)")
    diff.add_argument("layer", help="MODEL/LAYER")
    diff.add_argument("name")
    diff.add_argument("--a", required=True, help=f"dataset with the feature: {DATASET_FORMS}")
    diff.add_argument("--b", required=True, help=f"dataset without it: {DATASET_FORMS}")
    run_options(diff)
    nmf = add_command(direction_sub, "nmf", cmd_nmf, "non-negative factorization of a layer's (post-ReLU) "
                      "activations over a dataset: N directions named PREFIX<N>-0 … (largest share first)")
    nmf.add_argument("layer", help="MODEL/LAYER")
    nmf.add_argument("--n", type=bounded_int(1, MAX_FACTORS), default=8, help="number of factors (default 8)")
    nmf.add_argument("--dataset", default="synthetic:512", help=DATASET_FORMS)
    nmf.add_argument("--prefix", default="nmf", help="names are PREFIX<N>-<i> (default nmf: nmf8-0 …)")
    nmf.add_argument("--seed", type=bounded_int(0, MAX_SEED), default=0)
    nmf.add_argument("--iterations", type=bounded_int(1, 10_000), default=500)
    run_options(nmf)
