"""Families proposed from measured universality: units of two models whose stored matches
(``analogous`` relations, each unit's best partner) reach a correlation and whose tuning
curves (``tuning_curve`` artifacts) prefer the same stimulus.

A pair is evidence when its correlation is at least ``min_score``, both units have
curves along at least one common sweep on which both are selective (``min_selectivity``:
the preferred value of a flat curve is noise), and on every such sweep their preferred
values lie within ``tolerance`` of the sweep's range of each other (its cycle for a
circular sweep, on a log scale for a log sweep). Pairs that share a unit join: each
connected group is one proposal, a family in each layer (a family is of one model and
layer) and the analogous link between the two. A group with several units on one side
is flagged: several units of one model matching one unit of the other are copies of one
feature (redundancy), which a curator should see before accepting a family.

Proposals are printed for curators and stored only on request
(``Catalog.add_analogous_families``), named ``proposed: MODEL/LAYER UNITS``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from atlas.catalog import Catalog
from atlas.catalog.records import NewFamily
from atlas.compute.datasets.sweep_spec import SWEEPS, sweep_values
from atlas.errors import AtlasError, InvalidInput
from atlas.vocabulary import (
    PROPOSAL_MIN_SCORE,
    PROPOSAL_MIN_SELECTIVITY,
    PROPOSAL_TOLERANCE,
    TUNING_ARTIFACT,
)

MATCH_METHOD = "pooled.best"
MAX_NAMED_UNITS = 12


@dataclass(frozen=True)
class Tuning:
    """One unit's summary along one sweep."""

    sweep: str
    preferred: float
    selectivity: float


@dataclass(frozen=True)
class Agreement:
    """A pair's preferred values along one sweep both units are selective on."""

    sweep: str
    preferred_a: float
    preferred_b: float
    distance: float  # as a fraction of the sweep's range


@dataclass(frozen=True)
class Evidence:
    a: str
    b: str
    score: float
    agreements: tuple[Agreement, ...]


@dataclass
class Proposal:
    """A proposed family in ``layer_a`` (``members_a``) analogous to one in ``layer_b``."""

    layer_a: str
    layer_b: str
    stimuli: dict
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def members_a(self) -> list[str]:
        return _by_unit({e.a for e in self.evidence})

    @property
    def members_b(self) -> list[str]:
        return _by_unit({e.b for e in self.evidence})

    @property
    def score(self) -> float:
        """The mean correlation of the evidence pairs."""
        return sum(e.score for e in self.evidence) / len(self.evidence)

    @property
    def redundancy(self) -> str | None:
        """Several units of one model in the group: copies, not a family (None if one to one)."""
        many = [(layer, len(m)) for layer, m in ((self.layer_a, self.members_a), (self.layer_b, self.members_b))
                if len(m) > 1]
        if not many:
            return None
        return "; ".join(f"{n} units of {layer} in one group: copies of one feature (redundancy), "
                         f"not a family of their own" for layer, n in many)

    def families(self, source: str) -> tuple[NewFamily, NewFamily]:
        """The two families to store, described with the evidence (``source``: how it was found)."""
        pairs = "; ".join(f"{e.a} ~ {e.b} r={e.score:.3f} (" + ", ".join(
            f"{g.sweep} {g.preferred_a:g} vs {g.preferred_b:g}" for g in e.agreements) + ")" for e in self.evidence)
        about = (f"proposed by atlas families propose from {source}: {len(self.evidence)} matched pairs, "
                 f"mean r {self.score:.3f}. {pairs}." + (f" {self.redundancy}." if self.redundancy else ""))
        return (NewFamily(family_name(self.layer_a, self.members_a), about, tuple(self.members_a)),
                NewFamily(family_name(self.layer_b, self.members_b), about, tuple(self.members_b)))

    def details(self) -> dict:
        return {"pairs": [{"a": e.a, "b": e.b, "score": e.score,
                           "sweeps": [{"sweep": g.sweep, "a": g.preferred_a, "b": g.preferred_b} for g in e.agreements]}
                          for e in self.evidence]}


def _by_unit(addresses: Iterable[str]) -> list[str]:
    return sorted(addresses, key=lambda a: (a.rsplit("/", 1)[0], _sort_key(a.rsplit("/", 1)[1])))


def _sort_key(target: str) -> tuple[int, int | str]:
    return (0, int(target)) if target.isdigit() else (1, target)


def family_name(layer: str, members: list[str]) -> str:
    """``proposed: demo/conv3 4,17`` (a long list is cut and a hash of the whole added)."""
    targets = [m.rsplit("/", 1)[1] for m in members]
    named = ",".join(targets[:MAX_NAMED_UNITS])
    if len(targets) > MAX_NAMED_UNITS:
        digest = hashlib.sha256(",".join(targets).encode()).hexdigest()[:8]
        named += f",… (+{len(targets) - MAX_NAMED_UNITS}, {digest})"
    return f"proposed: {layer} {named}"[:200]


def check_options(min_score: float, tolerance: float, min_selectivity: float) -> None:
    for name, value, low, high in (("min-score", min_score, -1.0, 1.0), ("tolerance", tolerance, 0.0, 0.5),
                                   ("min-selectivity", min_selectivity, 0.0, 1.0)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
            raise InvalidInput(f"{name} must be a number from {low:g} to {high:g}, not {value!r}")


def _tunings(catalog: Catalog, feature: str) -> dict[str, Tuning]:
    """A feature's tuning summaries, keyed by the sweep without its image size (two models'
    curves along the same sweep at their own input sizes compare). A summary that does not
    read as finite numbers (one from a bundle, say) is no evidence and is skipped."""
    out = {}
    for artifact in catalog.artifacts(feature, TUNING_ARTIFACT):
        try:
            spec = dict(artifact.params["sweep"])
            summary = json.loads(catalog.blobs.get_bytes(artifact.blobs["summary"]))
            preferred, selectivity = float(summary["preferred"]), float(summary["selectivity"])
            SWEEPS.get(spec["sweep"])
        except (AtlasError, KeyError, TypeError, ValueError, OSError):
            continue
        if math.isfinite(preferred) and math.isfinite(selectivity):
            key = json.dumps({k: v for k, v in spec.items() if k != "size"} | {"site": artifact.params.get("site")},
                             sort_keys=True)
            out[key] = Tuning(spec["sweep"], preferred, selectivity)
    return out


def _distance(spec_key: str, x: float, y: float) -> float:
    """How far apart two preferred values are, as a fraction of the sweep's range."""
    spec = json.loads(spec_key)
    kind = SWEEPS.get(spec["sweep"])
    if kind.cycle is not None:
        d = abs(x - y) % kind.cycle
        return min(d, kind.cycle - d) / kind.cycle
    values = sweep_values({k: v for k, v in spec.items() if k != "site"})
    low, high = min(values), max(values)
    if kind.log and low > 0 and x > 0 and y > 0:
        return abs(math.log(x / y)) / math.log(high / low) if high > low else 0.0
    return abs(x - y) / (high - low) if high > low else 0.0


def agreements(a: dict[str, Tuning], b: dict[str, Tuning], tolerance: float,
               min_selectivity: float) -> tuple[Agreement, ...] | None:
    """The sweeps on which both units are selective, if there is at least one and the
    preferred values agree on every one of them; else None."""
    shared = [key for key in sorted(set(a) & set(b))
              if min(a[key].selectivity, b[key].selectivity) >= min_selectivity]
    found = tuple(Agreement(a[key].sweep, a[key].preferred, b[key].preferred,
                            _distance(key, a[key].preferred, b[key].preferred)) for key in shared)
    return found if found and all(g.distance <= tolerance for g in found) else None


def _layer_pairs(catalog: Catalog, model_a: str, model_b: str, layer_a: str | None,
                 layer_b: str | None) -> list[tuple[str, str]]:
    for model in (model_a, model_b):
        catalog.model(model)  # an unknown model: one line
    if (layer_a is None) != (layer_b is None):
        raise InvalidInput("give both --layer-a and --layer-b, or neither (every layer pair)")
    if layer_a is not None and layer_b is not None:
        return [(catalog.layer(f"{model_a}/{layer_a}").address, catalog.layer(f"{model_b}/{layer_b}").address)]
    return [(la.address, lb.address) for la in catalog.layers(model_a) for lb in catalog.layers(model_b)]


def _matches(catalog: Catalog, layer_a: str, layer_b: str, min_score: float) -> list[tuple[str, str, float, dict]]:
    """The stored best-partner matches of the two layers, both ways, as (a, b, r, stimuli)."""
    out = [(r.src, r.dst, r.score, r.stimuli) for r in catalog.relations(layer_a, layer_b, method=MATCH_METHOD)
           if r.score is not None]  # measured by MATCH_METHOD: always scored
    out += [(r.dst, r.src, r.score, r.stimuli) for r in catalog.relations(layer_b, layer_a, method=MATCH_METHOD)
            if r.score is not None]
    return [m for m in out if m[2] >= min_score]


def _groups(evidence: list[Evidence]) -> list[list[Evidence]]:
    """Evidence pairs joined where they share a unit (connected components)."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for e in evidence:
        parent[root("a:" + e.a)] = root("b:" + e.b)
    groups: dict[str, list[Evidence]] = defaultdict(list)
    for e in evidence:
        groups[root("a:" + e.a)].append(e)
    return list(groups.values())


def propose_families(catalog: Catalog, model_a: str, model_b: str, layer_a: str | None = None,
                     layer_b: str | None = None, min_score: float = PROPOSAL_MIN_SCORE,
                     tolerance: float = PROPOSAL_TOLERANCE,
                     min_selectivity: float = PROPOSAL_MIN_SELECTIVITY) -> list[Proposal]:
    """The proposals for ``model_a`` and ``model_b`` (one layer pair, or every pair that has
    stored matches), strongest first (see the module doc)."""
    check_options(min_score, tolerance, min_selectivity)
    proposals: list[Proposal] = []
    tunings: dict[str, dict[str, Tuning]] = {}
    for la, lb in _layer_pairs(catalog, model_a, model_b, layer_a, layer_b):
        by_stimuli: dict[str, tuple[dict, dict[tuple[str, str], Evidence]]] = {}
        for a, b, score, stimuli in _matches(catalog, la, lb, min_score):
            for unit in (a, b):
                if unit not in tunings:
                    tunings[unit] = _tunings(catalog, unit)
            agreed = agreements(tunings[a], tunings[b], tolerance, min_selectivity)
            if agreed is None:
                continue
            pairs = by_stimuli.setdefault(json.dumps(stimuli, sort_keys=True), (stimuli, {}))[1]
            if (a, b) not in pairs or pairs[(a, b)].score < score:
                pairs[(a, b)] = Evidence(a, b, score, agreed)
        for stimuli, pairs in by_stimuli.values():
            for group in _groups(sorted(pairs.values(), key=lambda e: (-e.score, e.a, e.b))):
                proposals.append(Proposal(la, lb, stimuli, group))
    return sorted(proposals, key=lambda p: (-p.score, p.layer_a, p.layer_b, p.members_a))


def save_proposal(catalog: Catalog, proposal: Proposal, source: str) -> bool:
    """Store ``proposal`` (two families and their analogous link); False when families of
    these names exist already (proposed before), leaving them as they are."""
    a, b = proposal.families(source)
    if {a.name, b.name} & set(catalog.family_names()):
        return False
    catalog.add_analogous_families(a, b, proposal.stimuli, proposal.score, proposal.details())
    return True
