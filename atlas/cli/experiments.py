"""``atlas experiment run CIRCUIT [CLAIM]``: run a circuit's claims as experiments and
print each verdict with its numbers (the ``experiment`` job kind)."""

from __future__ import annotations

import argparse

from atlas.cli.common import add_command, bounded_int, open_catalog
from atlas.cli.compute import run_options, run_settings


def cmd_run(args: argparse.Namespace) -> None:
    from atlas.compute.run import run_jobs

    catalog = open_catalog(args)
    ids = catalog.enqueue_experiments(args.circuit, args.claim)
    print(f"{len(ids)} experiment jobs for circuit {args.circuit}")
    if args.no_wait:
        return
    jobs = run_jobs(catalog, ids, ("experiment",), description="experiment", **run_settings(args))
    for job in jobs:
        claim = int(job.params["claim_id"])
        latest = catalog.claim_results(claim)[0]
        print(f"claim {claim}: {latest.result.get('summary', latest.verdict)}")


def register(sub: argparse._SubParsersAction) -> None:
    experiment = sub.add_parser("experiment", help="run circuit claims as experiments",
                                description="Run a circuit's claims as experiments: each claim's intervention, "
                                "measured before and after on its stimuli, with its matched random control; the "
                                "result is stored on the claim (see docs/experiments.md).")
    experiment_sub = experiment.add_subparsers(dest="experiment_command", metavar="COMMAND", required=True)
    run = add_command(experiment_sub, "run", cmd_run, "run a circuit's claims (all that have an experiment, "
                      "or one) and store each result")
    run.add_argument("circuit")
    run.add_argument("claim", nargs="?", type=bounded_int(1, 2**63 - 1), help="the claim's id (default: all)")
    run_options(run)
