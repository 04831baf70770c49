"""`atlas families propose`: families suggested from stored matches between two models and
their units' tuning curves (``atlas.compute.universality.proposals``), printed for
curators and stored on request (``--save``) as families with their analogous link.
`atlas families show NAME`: a family's members and its relations to other families, a
measured one with its score, a published one with its source (never a score)."""

from __future__ import annotations

import argparse

from atlas.cli.common import add_command, open_catalog
from atlas.text import printable
from atlas.vocabulary import PROPOSAL_MIN_SCORE, PROPOSAL_MIN_SELECTIVITY, PROPOSAL_TOLERANCE


def cmd_propose(args: argparse.Namespace) -> None:
    from atlas.compute.universality.proposals import MATCH_METHOD, propose_families, save_proposal

    catalog = open_catalog(args)
    proposals = propose_families(catalog, args.model_a, args.model_b, args.layer_a, args.layer_b,
                                 args.min_score, args.tolerance, args.min_selectivity)
    print(f"{len(proposals)} proposed families of {args.model_a} ~ {args.model_b} (best partners, "
          f"r >= {args.min_score:g}, preferred stimuli within {args.tolerance:g} of each sweep's range, "
          f"selectivity >= {args.min_selectivity:g})" + (":" if proposals else ""))
    source = (f"the {MATCH_METHOD} matches of {args.model_a} and {args.model_b} (r >= {args.min_score:g}) and "
              f"tuning curves (preferred within {args.tolerance:g} of the range, selectivity >= "
              f"{args.min_selectivity:g})")
    for proposal in proposals:
        print(f"  {proposal.layer_a} {{{', '.join(m.rsplit('/', 1)[1] for m in proposal.members_a)}}} ~ "
              f"{proposal.layer_b} {{{', '.join(m.rsplit('/', 1)[1] for m in proposal.members_b)}}}  "
              f"mean r {proposal.score:.3f}, {len(proposal.evidence)} pairs")
        for e in proposal.evidence:
            sweeps = ", ".join(f"{g.sweep} {g.preferred_a:g} ~ {g.preferred_b:g}" for g in e.agreements)
            print(f"    {e.a} ~ {e.b}  r {e.score:.3f}  {printable(sweeps)}")
        if proposal.redundancy:
            print(f"    note: {proposal.redundancy}")
        if args.save:
            saved = save_proposal(catalog, proposal, source)
            names = " and ".join(f.name for f in proposal.families(source))
            print(f"    {'saved' if saved else 'already stored'}: {printable(names)}")


def cmd_show(args: argparse.Namespace) -> None:
    catalog = open_catalog(args)
    family = catalog.family(args.name)
    print(f"{printable(family.name)}  ({family.layer or 'no members'}, {len(family.members)} members)")
    for address, note in family.members:
        print(f"  {address}" + (f"  {printable(note)}" if note else ""))
    for r in catalog.family_relations(family.name):
        arrow, other = ("->", r.dst) if r.src == family.name else ("<-", r.src)
        how = f"published, not measured: {printable(r.source)}" if r.published else f"{r.score:.3f} {r.method}"
        print(f"  {arrow} {r.relation} {printable(other)}  {how}")


def register(sub: argparse._SubParsersAction) -> None:
    families = sub.add_parser("families", help="families of analogous features across models")
    families_sub = families.add_subparsers(dest="families_command", metavar="COMMAND", required=True)
    propose = add_command(families_sub, "propose", cmd_propose,
                          "suggest families from the stored best-partner matches of two models (`atlas compare`) "
                          "whose units also prefer the same stimuli (tuning curves, `atlas compute tuning`): "
                          "a family in each layer and their analogous link, for curators to accept")
    show = add_command(families_sub, "show", cmd_show,
                       "a family's members and its relations to other families (measured with their score, "
                       "published with their source)")
    show.add_argument("name")
    propose.add_argument("--model-a", required=True)
    propose.add_argument("--model-b", required=True)
    propose.add_argument("--layer-a", help="a layer of model A (with --layer-b; default: every layer pair)")
    propose.add_argument("--layer-b", help="a layer of model B")
    propose.add_argument("--min-score", type=float, default=PROPOSAL_MIN_SCORE,
                         help=f"the correlation a match must reach, -1 to 1 (default {PROPOSAL_MIN_SCORE})")
    propose.add_argument("--tolerance", type=float, default=PROPOSAL_TOLERANCE,
                         help="how far the preferred values may differ, as a fraction of the sweep's range "
                              f"(its cycle for circular sweeps: 0.1 is 18 degrees of orientation; default "
                              f"{PROPOSAL_TOLERANCE})")
    propose.add_argument("--min-selectivity", type=float, default=PROPOSAL_MIN_SELECTIVITY,
                         help="a sweep counts only where both units are at least this selective "
                              f"(default {PROPOSAL_MIN_SELECTIVITY})")
    propose.add_argument("--save", action="store_true",
                         help="store the proposals as families (named 'proposed: MODEL/LAYER UNITS') with "
                              "their analogous link (curators)")
