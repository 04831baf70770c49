"""`atlas graph | export | import`: walking the stored graph and exchanging catalogues."""

from __future__ import annotations

import argparse
import sys

from atlas.bounds import MAX_ROWS
from atlas.catalog import MAX_HOPS, Subgraph
from atlas.cli.common import add_command as _add
from atlas.cli.common import bounded_int
from atlas.cli.common import open_catalog as _catalog
from atlas.errors import InvalidInput
from atlas.exchange import export
from atlas.text import printable


def _emit(data: bytes, out: str | None, fmt: str) -> None:
    if out:
        with open(out, "wb") as handle:
            handle.write(data)
        print(f"wrote {out} ({len(data):,} bytes)")
    elif fmt == "png":
        raise InvalidInput("PNG is binary: give --out FILE")
    else:
        sys.stdout.write(data.decode())


def _print_graph(graph: Subgraph) -> None:
    for path in graph.paths:
        print(" -> ".join(path))
    print(f"{len(graph.nodes)} features, {len(graph.edges)} edges")
    for edge in graph.edges:
        print(f"  {edge.src:<28} -> {edge.dst:<28} {edge.kind:<9} net {edge.net:+.4g}  strength {edge.strength:.4g}")


def cmd_graph(args: argparse.Namespace) -> None:
    catalog = _catalog(args)
    kinds = args.kinds.split(",")
    if args.graph_command == "neighbourhood":
        graph = catalog.neighbourhood(args.address, args.hops, args.k, args.min_strength, kinds, args.direction)
    elif args.graph_command == "paths":
        graph = catalog.paths(args.src, args.dst, args.max_len, kinds)
    else:
        graph = catalog.subgraph(args.addresses, kinds)
    if args.format:
        _emit(export.render(graph, args.format, catalog.blobs), args.out, args.format)
    else:
        _print_graph(graph)


def cmd_export_circuit(args: argparse.Namespace) -> None:
    catalog = _catalog(args)
    graph = catalog.circuit_graph(args.name)
    _emit(export.render(graph, args.format, catalog.blobs), args.out, args.format)


def cmd_export_bundle(args: argparse.Namespace) -> None:
    counts = _catalog(args).export_bundle(args.out, args.model or None, args.origin)
    print(f"wrote {args.out}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))


def cmd_import_bundle(args: argparse.Namespace) -> None:
    report = _catalog(args).import_bundle(args.path)
    print(report.summary())
    for conflict in report.conflicts[:50]:
        print(f"  conflict: {printable(conflict)}")


def cmd_import_seed(args: argparse.Namespace) -> None:
    report = _catalog(args).load_seed(args.name)
    print(report.summary())
    for conflict in report.conflicts[:20]:
        print(f"  conflict: {conflict}")



def register(sub: argparse._SubParsersAction) -> None:
    graph = sub.add_parser("graph", help="walk the stored graph", description="walk the stored graph")
    graph_sub = graph.add_subparsers(dest="graph_command", metavar="COMMAND", required=True)
    near = _add(graph_sub, "neighbourhood", cmd_graph, "features within some hops of one")
    near.add_argument("address")
    near.add_argument("--hops", type=bounded_int(1, MAX_HOPS), default=1)
    near.add_argument("-k", type=bounded_int(1, MAX_ROWS), default=10,
                      help="strongest edges followed per node and direction")
    near.add_argument("--min-strength", type=float, default=0.0)
    near.add_argument("--direction", choices=("in", "out", "both"), default="both")
    paths = _add(graph_sub, "paths", cmd_graph, "paths of stored edges from one feature to another")
    paths.add_argument("src")
    paths.add_argument("dst")
    paths.add_argument("--max-len", type=bounded_int(1, MAX_HOPS), default=3)
    induced = _add(graph_sub, "subgraph", cmd_graph, "some features and the edges among them")
    induced.add_argument("addresses", nargs="+")
    for walk in (near, paths, induced):
        walk.add_argument("--kinds", default="direct", help="comma-separated: direct,expanded,attribution")
        walk.add_argument("--format", choices=export.FORMATS, help="export instead of printing")
        walk.add_argument("--out", help="file to write (default: stdout for text formats)")

    exporter = sub.add_parser("export", help="export circuits", description="export circuits and catalogues")
    export_sub = exporter.add_subparsers(dest="export_command", metavar="COMMAND", required=True)
    circuit = _add(export_sub, "circuit", cmd_export_circuit, "a named circuit as JSON, GraphML, "
                   "Cytoscape, DOT, SVG or a PNG figure")
    circuit.add_argument("name")
    circuit.add_argument("--format", choices=export.FORMATS, default="json")
    circuit.add_argument("--out")
    bundle_out = _add(export_sub, "bundle", cmd_export_bundle, "the catalogue as a zip another lab can import")
    bundle_out.add_argument("out", help="the .zip to write")
    bundle_out.add_argument("--model", action="append", help="only this model (repeatable)")
    bundle_out.add_argument("--origin", help="this catalogue's name in the bundle: its authors travel as "
                            "NAME@ORIGIN (default: the catalogue_name setting, else a stable id)")

    importer = sub.add_parser("import", help="import seeds and bundles", description="import seeds and bundles")
    import_sub = importer.add_subparsers(dest="import_command", metavar="COMMAND", required=True)
    seeder = _add(import_sub, "seed", cmd_import_seed, "load a seed catalogue of published facts onto a "
                  "registered model (e.g. inceptionv1)")
    seeder.add_argument("name", help="seed name in seed_data/ (inceptionv1, demo) or a .json path")
    bundle_in = _add(import_sub, "bundle", cmd_import_bundle, "merge a bundle into this catalogue (admins)")
    bundle_in.add_argument("path")
