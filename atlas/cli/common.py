"""What every `atlas` command module shares: opening the catalogue named by the global
options, declaring a subcommand with its handler, and the type of integer options."""

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


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer from ``low`` to ``high``. Every integer option uses
    one, so that no command hands the database a number its columns cannot hold (a
    traceback from the driver) or a value the command cannot mean (a negative --limit)."""

    def integer(text: str) -> int:
        try:
            # int() of thousands of digits is slow (and refused past 4,300); no bound is that long.
            number = int(text) if len(text.strip()) <= 40 else None
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise argparse.ArgumentTypeError(f"expected an integer from {low:,} to {high:,}, not {text!r}")
        return number

    return integer
