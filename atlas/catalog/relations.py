"""Relations between things of two models on a ``Session``: analogous features (matched by
the correlation of their activations) and similar layers (CKA), measured over a stimulus
set; and families related to families (``put_families``: proposed as analogous by
``atlas families propose``, from their members' matches; ``put_family_link``: stated by a
source, e.g. the InceptionV1 seed's links, ``published`` with no score).

A layer pair's relations of one method over one stimulus set are written together, by
the job that measured them or through ``Catalog.add_relations``; written again they are
kept (nothing is written) unless ``replace``, which deletes them first, so a rerun never
leaves two copies.

``check_kind``, ``check_score``, ``check_source`` and ``check_record`` are the one check
of a relation: the API, the seed loader and the bundle importer all call them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from atlas.address import LayerAddress
from atlas.catalog import audit
from atlas.catalog.artifacts import params_key
from atlas.catalog.evidence import check_body
from atlas.catalog.records import RelationInfo
from atlas.catalog.resolve import addresses_of, get_layer, target_ids
from atlas.db.blobs import blob_names
from atlas.db.models import Family, Layer, Model, Relation
from atlas.errors import InvalidInput
from atlas.text import check_optional
from atlas.vocabulary import (
    CKA_METHOD,
    FAMILY_PROPOSAL_METHOD,
    MATCH_METHODS,
    MAX_SOURCE_CHARS,
    PUBLISHED_METHOD,
    RELATIONS,
    SCORE_BOUND,
)

Target = int | str  # a unit by channel, a direction by name
Row = tuple[Target | None, Target | None, float]  # (src, dst, score); None, None: the layers themselves
# Which methods may find which relation between which ends ("features", "layers", "families").
METHODS = {
    ("analogous", "features"): MATCH_METHODS,
    ("similar", "layers"): (CKA_METHOD,),
    ("analogous", "families"): (FAMILY_PROPOSAL_METHOD, PUBLISHED_METHOD),
    ("inputs_of", "families"): (PUBLISHED_METHOD,),
}
PAIR_ENDS = {"analogous": "features", "similar": "layers"}  # what a layer pair's relations join
MAX_RECORD_CHARS = 1_000_000  # a relation's stimuli or details, as JSON
MAX_NOTE_CHARS = 2000  # a published link's note
BLOB_DETAILS = ("heatmap",)  # the keys of a relation's details that name a blob (the CKA heatmap)


def check_kind(relation: object, method: object, ends: str) -> None:
    """One line unless ``relation`` between ``ends`` may come from ``method``."""
    if relation not in RELATIONS:
        raise InvalidInput(f"unknown relation {str(relation)[:40]!r} (known: {', '.join(RELATIONS)})")
    joins = [e for r, e in METHODS if r == relation]
    if ends not in joins:
        raise InvalidInput(f"a {relation} relation joins {' or '.join(joins)}, not {ends}")
    allowed = METHODS[(str(relation), ends)]
    if method not in allowed:
        raise InvalidInput(f"a {relation} relation of {ends} is measured by {', '.join(allowed)}, "
                           f"not {str(method)[:60]!r}")


def check_score(method: str, score: object) -> float | None:
    """A measured relation's score, a finite number within [-1, 1] (a correlation or a
    CKA); a published relation has none (not 0: nothing was measured)."""
    if method == PUBLISHED_METHOD:
        if score is not None:
            raise InvalidInput(f"a published relation carries no score (it was not measured here), not {score!r:.40}")
        return None
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise InvalidInput(f"a relation's score must be a finite number, not {score!r:.40}")
    if abs(score) > SCORE_BOUND:
        raise InvalidInput(f"a relation's score is a correlation or a CKA, within [-1, 1], not {score!r}")
    return float(score)


def check_source(method: str, source: object) -> str | None:
    """A published relation's source, an http(s) URL; a measured one has none."""
    if method != PUBLISHED_METHOD:
        if source is not None:
            raise InvalidInput("only a published relation names a source (a measured one has its stimuli)")
        return None
    if not isinstance(source, str) or len(source) > MAX_SOURCE_CHARS:
        raise InvalidInput(f"a published relation's source is a URL of at most {MAX_SOURCE_CHARS} characters")
    return check_body("link", source)


def check_record(value: object, field: str, optional: bool = False) -> dict | None:
    """A relation's stimuli or details: a JSON object of finite numbers and bounded size."""
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"a relation's {field} must be an object, not {type(value).__name__}")
    try:
        size = len(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"a relation's {field} must be JSON of finite numbers: {exc}") from None
    if size > MAX_RECORD_CHARS:
        raise InvalidInput(f"a relation's {field} is {size:,} characters of JSON; the limit is {MAX_RECORD_CHARS:,}")
    return value


def detail_blobs(details: object) -> set[str]:
    """The blobs a relation's details name (a bundle carries them with it)."""
    if not isinstance(details, dict):
        return set()
    return set().union(*(blob_names(details[key]) for key in BLOB_DETAILS if key in details))


def _check(relation: str, method: str, rows: Sequence[Row]) -> bool:
    """Whether ``rows`` relate the layers themselves (else features); one line if the
    relation, the method, an end or a score is not what it may be."""
    if relation not in RELATIONS:
        raise InvalidInput(f"unknown relation {str(relation)[:40]!r} (known: {', '.join(RELATIONS)})")
    if relation not in PAIR_ENDS:
        raise InvalidInput(f"a {relation} relation joins families, not layers or features")
    layers = PAIR_ENDS[relation] == "layers"
    check_kind(relation, method, PAIR_ENDS[relation])
    for src, dst, score in rows:
        if (src is None or dst is None) != layers or (layers and (src, dst) != (None, None)):
            raise InvalidInput(f"a {relation} relation joins {'layers' if layers else 'features'}, "
                               f"not {src!r} and {dst!r}")
        check_score(method, score)
    return layers


def _pair_filter(relation: str, method: str, key: str, src_layer: int, dst_layer: int, layers: bool) -> list:
    feature_end = Relation.src_feature_id.is_(None) if layers else Relation.src_feature_id.is_not(None)
    return [Relation.relation == relation, Relation.method == method, Relation.stimuli_key == key,
            Relation.src_layer_id == src_layer, Relation.dst_layer_id == dst_layer, feature_end]


def put_pair(session: Session, relation: str, method: str, stimuli: dict, src: LayerAddress, dst: LayerAddress,
             rows: Sequence[Row], details: dict | None = None, job_id: int | None = None,
             replace: bool = False) -> int:
    """Store the ``relation`` by ``method`` over ``stimuli`` between layer ``src`` and layer
    ``dst``: of their features (rows of unit channels or direction names) or, for
    ``similar``, of the layers themselves (one row ``(None, None, score)``). Returns how
    many rows were written (0 when the pair already has them and not ``replace``)."""
    layers = _check(relation, method, rows)
    key = params_key(stimuli)
    src_row, _ = get_layer(session, src)
    dst_row, _ = get_layer(session, dst)
    same = _pair_filter(relation, method, key, src_row.id, dst_row.id, layers)
    if session.scalar(select(func.count()).select_from(Relation).where(*same)):
        if not replace:
            return 0
        session.execute(delete(Relation).where(*same), execution_options={"synchronize_session": False})
    for end, (address, row) in enumerate(((src, src_row), (dst, dst_row))):
        outside = [unit for unit in _units(rows, end) if not 0 <= unit < row.channels]
        if outside:
            raise InvalidInput(f"{address} has units 0 to {row.channels - 1}; no unit {outside[0]}")
    src_ids = {} if layers else target_ids(session, src, _units(rows, 0), _names(rows, 0))
    dst_ids = {} if layers else target_ids(session, dst, _units(rows, 1), _names(rows, 1))
    values = [{"relation": relation, "method": method, "src_layer_id": src_row.id, "dst_layer_id": dst_row.id,
               "src_feature_id": None if s is None else src_ids[s],
               "dst_feature_id": None if d is None else dst_ids[d],
               "score": float(score), "stimuli": stimuli, "stimuli_key": key, "details": details,
               "job_id": job_id} for s, d, score in rows]
    if values:
        session.execute(insert(Relation), values)
    return len(values)


def put_families(session: Session, stimuli: dict, src: Family, dst: Family, score: float,
                 details: dict | None = None) -> None:
    """Store family ``src`` as analogous to family ``dst`` (method
    ``FAMILY_PROPOSAL_METHOD``), measured over ``stimuli`` with ``score``."""
    put_family_relation(session, "analogous", FAMILY_PROPOSAL_METHOD, src, dst, score, stimuli, details)


def put_family_link(session: Session, actor: str, relation: str, src: Family, dst: Family, source: str,
                    note: str | None = None) -> bool:
    """Store family ``src`` as ``relation`` to family ``dst`` as ``source`` (a URL) states
    it, with ``note``: ``published``, with no score and no stimuli; audited as ``actor``'s.
    False (nothing written) when that link is stored already."""
    note = check_optional(note, "a family link's note", max_len=MAX_NOTE_CHARS)
    added = put_family_relation(session, relation, PUBLISHED_METHOD, src, dst, None, {},
                                {"note": note} if note else None, source)
    if added:
        audit.record(session, actor, "relations.add", "family", f"{src.name}->{dst.name}", None,
                     {"relation": relation, "method": PUBLISHED_METHOD, "source": source})
    return added


def put_family_relation(session: Session, relation: str, method: str, src: Family, dst: Family,
                        score: float | None, stimuli: dict, details: dict | None = None,
                        source: str | None = None) -> bool:
    """Store one relation of two families, checked; False (nothing written) when the same
    relation by the same method over the same stimuli (and from the same source) is
    already stored: a seed or a bundle loaded twice adds nothing."""
    check_kind(relation, method, "families")
    score, source = check_score(method, score), check_source(method, source)
    check_record(stimuli, "stimuli")
    check_record(details, "details", optional=True)
    if method == PUBLISHED_METHOD and stimuli:
        raise InvalidInput("a published relation was measured on nothing: its stimuli are {}")
    if src.id == dst.id:
        raise InvalidInput(f"family {src.name!r} related to itself: name two families")
    key = params_key(stimuli)
    present = session.scalar(select(func.count()).select_from(Relation).where(
        Relation.relation == relation, Relation.method == method, Relation.stimuli_key == key,
        Relation.src_family_id == src.id, Relation.dst_family_id == dst.id,
        Relation.source.is_(None) if source is None else Relation.source == source))
    if present:
        return False
    session.add(Relation(relation=relation, method=method, src_family_id=src.id, dst_family_id=dst.id,
                         score=score, source=source, stimuli=stimuli, stimuli_key=key, details=details))
    session.flush()
    return True


# Best score first; published relations (no score) after the measured ones on both dialects.
BEST_FIRST = Relation.score.desc().nulls_last()


def _units(rows: Sequence[Row], end: int) -> list[int]:
    return sorted({int(row[end]) for row in rows if isinstance(row[end], int)})  # type: ignore[arg-type]


def _names(rows: Sequence[Row], end: int) -> list[str]:
    return sorted({str(row[end]) for row in rows if isinstance(row[end], str)})


def _layer_names(session: Session, ids: set[int]) -> dict[int, str]:
    rows = session.execute(select(Layer.id, Model.name, Layer.name).join(Model, Layer.model_id == Model.id)
                           .where(Layer.id.in_(sorted(ids))))
    return {layer_id: f"{model}/{name}" for layer_id, model, name in rows}


def _family_names(session: Session, ids: set[int]) -> dict[int, str]:
    rows = session.execute(select(Family.id, Family.name).where(Family.id.in_(sorted(ids))))
    return {family_id: name for family_id, name in rows}


def infos(session: Session, rows: list[Relation]) -> list[RelationInfo]:
    """Rows as records, their ends by address or name (a few queries for all of them)."""
    features = addresses_of(session, {i for r in rows for i in (r.src_feature_id, r.dst_feature_id) if i})
    layers = _layer_names(session, {i for r in rows for i in (r.src_layer_id, r.dst_layer_id) if i})
    families = _family_names(session, {i for r in rows for i in (r.src_family_id, r.dst_family_id) if i})
    out = []
    for r in rows:
        if r.src_feature_id is not None and r.dst_feature_id is not None:
            ends, src, dst = "features", features[r.src_feature_id], features[r.dst_feature_id]
        elif r.src_family_id is not None and r.dst_family_id is not None:
            ends, src, dst = "families", families[r.src_family_id], families[r.dst_family_id]
        else:
            ends, src, dst = "layers", layers[r.src_layer_id or 0], layers[r.dst_layer_id or 0]
        out.append(RelationInfo(r.relation, r.method, ends, src, dst, r.score, r.stimuli, r.details, r.job_id,
                                r.source))
    return out


def between(session: Session, src: LayerAddress, dst: LayerAddress, relation: str = "analogous",
            method: str | None = None, stimuli: dict | None = None) -> list[RelationInfo]:
    """The relations stored from layer ``src`` to layer ``dst`` (measured over ``stimuli``
    if given), best score first."""
    src_row, _ = get_layer(session, src)
    dst_row, _ = get_layer(session, dst)
    query = select(Relation).where(Relation.src_layer_id == src_row.id, Relation.dst_layer_id == dst_row.id,
                                   Relation.relation == relation)
    if method is not None:
        query = query.where(Relation.method == method)
    if stimuli is not None:
        query = query.where(Relation.stimuli_key == params_key(stimuli))
    return infos(session, list(session.scalars(query.order_by(BEST_FIRST, Relation.id))))


def of_feature(session: Session, feature_id: int, method: str | None = None) -> list[RelationInfo]:
    """The analogous relations a feature is an end of (either end), best score first."""
    query = select(Relation).where(or_(Relation.src_feature_id == feature_id, Relation.dst_feature_id == feature_id))
    if method is not None:
        query = query.where(Relation.method == method)
    return infos(session, list(session.scalars(query.order_by(BEST_FIRST, Relation.id))))


def of_family(session: Session, family_id: int) -> list[RelationInfo]:
    """The relations a family is an end of (either end), best score first, then the
    published ones (no score)."""
    query = select(Relation).where(or_(Relation.src_family_id == family_id, Relation.dst_family_id == family_id))
    return infos(session, list(session.scalars(query.order_by(BEST_FIRST, Relation.id))))


def of_models(session: Session, model_a: str, model_b: str, stimuli: dict | None = None) -> list[RelationInfo]:
    """The layer-level (``similar``) relations from layers of ``model_a`` to layers of
    ``model_b`` (measured over ``stimuli`` if given), in the order they were stored."""
    src_layers = select(Layer.id).join(Model, Layer.model_id == Model.id).where(Model.name == model_a)
    dst_layers = select(Layer.id).join(Model, Layer.model_id == Model.id).where(Model.name == model_b)
    query = (select(Relation).where(Relation.relation == "similar", Relation.src_layer_id.in_(src_layers),
                                    Relation.dst_layer_id.in_(dst_layers)).order_by(Relation.id))
    if stimuli is not None:
        query = query.where(Relation.stimuli_key == params_key(stimuli))
    return infos(session, list(session.scalars(query)))


def shared_partners(best: Sequence[RelationInfo], threshold: float) -> list[tuple[str, list[str]]]:
    """Redundancy: each feature of B that several features of A have as their best partner
    (``pooled.best`` relations from A to B) at or above ``threshold``, with those features
    of A; the most shared first. Copies of one feature inside A, not a family."""
    above = [r for r in best if r.score is not None and r.score >= threshold]
    counts = Counter(r.dst for r in above)
    shared = sorted((dst for dst, n in counts.items() if n > 1), key=lambda dst: (-counts[dst], dst))
    return [(dst, [r.src for r in above if r.dst == dst]) for dst in shared]
