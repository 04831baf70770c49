"""`atlas compare A/LAYER B/LAYER`: match two layers' features (usually of two models) by
the correlation of their pre-activations over a shared stimulus set, and compare every
layer pair of the two models by linear CKA (docs/universality.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from atlas.catalog import Catalog
from atlas.cli.common import bounded_int, open_catalog
from atlas.cli.compute import finish_jobs, run_options
from atlas.compute.datasets.stimuli import DEFAULT_DATASET, DEFAULT_SWEEP_STEPS
from atlas.compute.datasets.stimuli import stimulus_set as stimuli_at_size
from atlas.compute.datasets.sweep_spec import MAX_SWEEP_STEPS
from atlas.errors import InvalidInput
from atlas.vocabulary import COMPARE_CHUNK_IMAGES, COMPARE_KINDS

DEFAULT_THRESHOLD = 0.5
MAX_TOP = 10_000


def stimulus_set(catalog: Catalog, layer: str, dataset: str | None, sweeps: str | None, steps: str) -> dict:
    """The checked stimulus set, drawn at the input size of ``layer``'s model."""
    return stimuli_at_size(catalog.model(catalog.layer(layer).model).input_size, dataset, sweeps, steps)


def cmd_compare(args: argparse.Namespace) -> None:
    catalog = open_catalog(args)
    stimuli = stimulus_set(catalog, args.a, args.dataset, args.sweeps, args.steps)
    ids = catalog.enqueue_comparison(args.a, args.b, stimuli, args.chunk_images, args.force)
    finish_jobs(catalog, args, COMPARE_KINDS, ids, f"{args.a} ~ {args.b}")
    if args.no_wait:
        return
    _print_matches(catalog, args, stimuli)
    _print_cka(catalog, args, stimuli)


def _print_matches(catalog: Catalog, args: argparse.Namespace, stimuli: dict) -> None:
    pairs = catalog.relations(args.a, args.b, method="pooled.assignment", stimuli=stimuli)
    spatial = {(r.src, r.dst): r.score
               for r in catalog.relations(args.a, args.b, method="spatial.assignment", stimuli=stimuli)}
    above = [r for r in pairs if r.score >= args.threshold]
    print(f"one-to-one matches (Hungarian on pooled correlation): {len(above)} of {len(pairs)} at or above "
          f"{args.threshold}; top {min(args.top, len(pairs))}:")
    print(f"  {'A':<28} {'B':<28} pooled  " + ("per-position" if spatial else ""))
    for r in pairs[:args.top]:
        extra = f"{spatial[(r.src, r.dst)]:.3f}" if (r.src, r.dst) in spatial else ""
        print(f"  {r.src:<28} {r.dst:<28} {r.score:.3f}   {extra}")
    shared = catalog.redundancy(args.a, args.b, args.threshold, stimuli)
    print(f"redundancy: {len(shared)} features of {args.b} are the best partner (>= {args.threshold}) of "
          f"several features of {args.a} (copies within {args.a}'s model, not a family)"
          + (":" if shared else ""))
    for dst, sources in shared[:args.top]:
        print(f"  {dst}  best partner of {len(sources)}")


def _print_cka(catalog: Catalog, args: argparse.Namespace, stimuli: dict) -> None:
    model_a, model_b = catalog.layer(args.a).model, catalog.layer(args.b).model
    rows = catalog.layer_similarity(model_a, model_b, stimuli)
    layers_a = list(dict.fromkeys(r.src.split("/", 1)[1] for r in rows))
    layers_b = list(dict.fromkeys(r.dst.split("/", 1)[1] for r in rows))
    score = {(r.src.split("/", 1)[1], r.dst.split("/", 1)[1]): r.score for r in rows}
    print(f"linear CKA of pooled pre-activations, {model_a} (rows) ~ {model_b} (columns):")
    print(" " * 12 + "".join(f"{name[:8]:>9}" for name in layers_b))
    for la in layers_a:
        print(f"{la[:12]:<12}" + "".join(f"{score.get((la, lb), float('nan')):>9.3f}" for lb in layers_b))
    if args.plot and rows and rows[0].details:
        try:
            Path(args.plot).write_bytes(catalog.blobs.get_bytes(rows[0].details["heatmap"]))
        except OSError as exc:
            raise InvalidInput(f"cannot write the heatmap to {args.plot!r}: {exc.strerror}") from None
        print(f"heatmap: {args.plot}")


def register(sub: argparse._SubParsersAction) -> None:
    compare = sub.add_parser("compare", help="match two layers' features across models (universality)",
                             description="Match the features of layer A with those of layer B (usually of "
                             "another model) by the correlation of their pre-activations over a shared "
                             "stimulus set (pooled over positions, and per position where the maps match), "
                             "store the one-to-one assignment and every feature's best partner as 'analogous' "
                             "relations, and the linear CKA of every layer pair of the two models "
                             "(docs/universality.md). Runs as jobs, as `atlas compute` does.")
    compare.set_defaults(handler=cmd_compare)
    compare.add_argument("a", help="MODEL/LAYER")
    compare.add_argument("b", help="MODEL/LAYER")
    compare.add_argument("--dataset", help=f"synthetic:N or folder:PATH (default: {DEFAULT_DATASET}, "
                         "or none when --sweeps are given)")
    compare.add_argument("--sweeps", help="tuning sweeps added to the stimuli, comma-separated "
                         "(e.g. curve_orientation,orientation)")
    compare.add_argument("--steps", default=DEFAULT_SWEEP_STEPS, help=f"conditions per sweep, 1 to {MAX_SWEEP_STEPS:,}")
    compare.add_argument("--chunk-images", type=bounded_int(1, 10_000), default=COMPARE_CHUNK_IMAGES,
                         help=f"images per job (default: {COMPARE_CHUNK_IMAGES})")
    compare.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                         help=f"the correlation a match must reach to count (default: {DEFAULT_THRESHOLD})")
    compare.add_argument("--top", type=bounded_int(0, MAX_TOP), default=20, help="matches printed")
    compare.add_argument("--plot", help="write the CKA heatmap (PNG) to this file")
    compare.add_argument("--force", action="store_true", help="measure again and replace what is stored")
    run_options(compare)
