"""What every `atlas` command module shares: opening the catalogue named by the global
options, and declaring a subcommand with its handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from atlas.catalog import Catalog

Handler = Callable[[argparse.Namespace], "int | None"]


def open_catalog(args: argparse.Namespace) -> Catalog:
    return Catalog.open(args.db, args.blobs, args.user)


def add_command(sub: argparse._SubParsersAction, name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help, description=help)
    parser.set_defaults(handler=handler)
    return parser
