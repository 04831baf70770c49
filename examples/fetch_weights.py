"""Fetch an example model's published weights: ``python -m examples.fetch_weights NAME [DIR]``.

Prints the path of the checked file (in DIR, default ``$ATLAS_WEIGHTS_CACHE`` or
``~/.cache/atlas-test-weights``), ready for ``atlas model add --weights``.
"""

from __future__ import annotations

import argparse
import sys

from examples.weights import WEIGHTS, WeightsFetchError, fetch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.fetch_weights",
                                     description="Download, check and cache an example model's published weights.")
    parser.add_argument("name", choices=sorted(WEIGHTS), help="the example model")
    parser.add_argument("directory", nargs="?", help="where to put the file (default: the cache)")
    args = parser.parse_args(argv)
    try:
        path = fetch(args.name, args.directory)
    except (WeightsFetchError, OSError) as e:
        print(f"fetch_weights: error: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
