"""CLI commands for jobs and workers (being written)."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `worker` and `jobs` commands."""
