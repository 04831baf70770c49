"""Relations between things of two models on a ``Session``: analogous features (matched by
the correlation of their activations) and similar layers (CKA), measured over a stimulus
set; and families related to families (``put_families``: proposed as analogous by
``atlas families propose``, from their members' matches).

A layer pair's relations of one method over one stimulus set are written together, by
the job that measured them or through ``Catalog.add_relations``; written again they are
kept (nothing is written) unless ``replace``, which deletes them first, so a rerun never
leaves two copies.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from atlas.address import LayerAddress
from atlas.catalog.artifacts import params_key
from atlas.catalog.records import RelationInfo
from atlas.catalog.resolve import addresses_of, get_layer, target_ids
from atlas.db.models import Family, Layer, Model, Relation
from atlas.errors import InvalidInput
from atlas.vocabulary import CKA_METHOD, FAMILY_PROPOSAL_METHOD, MATCH_METHODS, RELATIONS

Target = int | str  # a unit by channel, a direction by name
Row = tuple[Target | None, Target | None, float]  # (src, dst, score); None, None: the layers themselves
METHODS = {"analogous": MATCH_METHODS, "similar": (CKA_METHOD,)}


def _check(relation: str, method: str, rows: Sequence[Row]) -> bool:
    """Whether ``rows`` relate the layers themselves (else features); one line if the
    relation, the method, an end or a score is not what it may be."""
    if relation not in RELATIONS:
        raise InvalidInput(f"unknown relation {relation!r} (known: {', '.join(RELATIONS)})")
    if method not in METHODS[relation]:
        raise InvalidInput(f"a {relation} relation is measured by {', '.join(METHODS[relation])}, not {method!r}")
    layers = relation == "similar"
    for src, dst, score in rows:
        if (src is None or dst is None) != layers or (layers and (src, dst) != (None, None)):
            raise InvalidInput(f"a {relation} relation joins {'layers' if layers else 'features'}, "
                               f"not {src!r} and {dst!r}")
        _check_score(score)
    return layers


def _check_score(score: object) -> None:
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise InvalidInput(f"a relation's score must be a finite number, not {score!r}")


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
    _check_score(score)
    if src.id == dst.id:
        raise InvalidInput(f"family {src.name!r} related to itself: name two families")
    session.add(Relation(relation="analogous", method=FAMILY_PROPOSAL_METHOD, src_family_id=src.id,
                         dst_family_id=dst.id, score=float(score), stimuli=stimuli,
                         stimuli_key=params_key(stimuli), details=details))
    session.flush()


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


def _infos(session: Session, rows: list[Relation]) -> list[RelationInfo]:
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
        out.append(RelationInfo(r.relation, r.method, ends, src, dst, r.score, r.stimuli, r.details, r.job_id))
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
    return _infos(session, list(session.scalars(query.order_by(Relation.score.desc(), Relation.id))))


def of_feature(session: Session, feature_id: int, method: str | None = None) -> list[RelationInfo]:
    """The analogous relations a feature is an end of (either end), best score first."""
    query = select(Relation).where(or_(Relation.src_feature_id == feature_id, Relation.dst_feature_id == feature_id))
    if method is not None:
        query = query.where(Relation.method == method)
    return _infos(session, list(session.scalars(query.order_by(Relation.score.desc(), Relation.id))))


def of_family(session: Session, family_id: int) -> list[RelationInfo]:
    """The relations a family is an end of (either end), best score first."""
    query = select(Relation).where(or_(Relation.src_family_id == family_id, Relation.dst_family_id == family_id))
    return _infos(session, list(session.scalars(query.order_by(Relation.score.desc(), Relation.id))))


def of_models(session: Session, model_a: str, model_b: str, stimuli: dict | None = None) -> list[RelationInfo]:
    """The layer-level (``similar``) relations from layers of ``model_a`` to layers of
    ``model_b`` (measured over ``stimuli`` if given), in the order they were stored."""
    src_layers = select(Layer.id).join(Model, Layer.model_id == Model.id).where(Model.name == model_a)
    dst_layers = select(Layer.id).join(Model, Layer.model_id == Model.id).where(Model.name == model_b)
    query = (select(Relation).where(Relation.relation == "similar", Relation.src_layer_id.in_(src_layers),
                                    Relation.dst_layer_id.in_(dst_layers)).order_by(Relation.id))
    if stimuli is not None:
        query = query.where(Relation.stimuli_key == params_key(stimuli))
    return _infos(session, list(session.scalars(query)))


def shared_partners(best: Sequence[RelationInfo], threshold: float) -> list[tuple[str, list[str]]]:
    """Redundancy: each feature of B that several features of A have as their best partner
    (``pooled.best`` relations from A to B) at or above ``threshold``, with those features
    of A; the most shared first. Copies of one feature inside A, not a family."""
    above = [r for r in best if r.score >= threshold]
    counts = Counter(r.dst for r in above)
    shared = sorted((dst for dst, n in counts.items() if n > 1), key=lambda dst: (-counts[dst], dst))
    return [(dst, [r.src for r in above if r.dst == dst]) for dst in shared]
