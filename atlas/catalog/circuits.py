"""Circuits: named subgraphs of features with falsifiable claims.

A circuit edge may point at a stored weight edge (when one exists between its ends) so an
export can show the weights; a circuit is a curated object and edits bump its version.
A curated edge may say what the connection does, excitatory or inhibitory (its ``sign``,
e.g. from the article it was read in); the measured sign stays the stored weight's.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from atlas.address import FeatureAddress, check_name
from atlas.bounds import check_id
from atlas.catalog import audit, fulltext
from atlas.catalog.records import CircuitEdgeInfo, CircuitInfo, ClaimInfo
from atlas.catalog.resolve import addresses_of, get_feature
from atlas.db.models import (
    Circuit,
    CircuitClaim,
    CircuitEdge,
    CircuitNode,
    Edge,
    User,
    utcnow,
)
from atlas.errors import InvalidInput, NotFound, VersionConflict
from atlas.experiments.spec import check_experiment
from atlas.text import MAX_NOTE_CHARS, check_optional, check_text
from atlas.vocabulary import CIRCUIT_EDGE_SIGNS, CIRCUIT_STATUSES, CLAIM_STATUSES

CIRCUIT_FIELDS = ("name", "description", "status", "version")


def get(session: Session, name: str) -> Circuit:
    circuit = session.scalar(select(Circuit).where(Circuit.name == name))
    if circuit is None:
        raise NotFound(f"unknown circuit {name!r}")
    return circuit


def check(name: str, description: str, status: str) -> None:
    """A circuit's own fields, for the API and the bundle importer alike."""
    check_name(name, "circuit")
    check_description(description)
    _check_status(status)


def check_description(description: str) -> None:
    check_text(description, "circuit description", multiline=True, max_len=MAX_NOTE_CHARS)


def check_prediction(prediction: str) -> str:
    """The stripped prediction of a claim: one line of text, not empty."""
    prediction = check_text(prediction if prediction is not None else "", "claim prediction", strip=True)
    if not prediction:
        raise InvalidInput("a claim needs a prediction: what should an experiment show?")
    return prediction


def check_claim_experiment(experiment: object) -> dict | None:
    """A claim's experiment: none, or one the executor can run (``atlas.experiments.spec``)."""
    return None if experiment is None else check_experiment(experiment)


def check_claim_status(status: str, result: str | None) -> None:
    if status not in CLAIM_STATUSES:
        raise InvalidInput(f"unknown claim status {status!r} (one of {', '.join(CLAIM_STATUSES)})")
    check_optional(result, "claim result", multiline=True, max_len=MAX_NOTE_CHARS)


def create(
    session: Session, name: str, description: str, status: str, author: User
) -> Circuit:
    check(name, description, status)
    if session.scalar(select(Circuit.id).where(Circuit.name == name)) is not None:
        raise InvalidInput(f"a circuit named {name!r} already exists")
    circuit = Circuit(name=name, description=description, status=status, author_id=author.id)
    session.add(circuit)
    session.flush()
    fulltext.sync_circuit(session, circuit, author.name)
    audit.record(
        session, author.name, "circuit.create", "circuit", name,
        None, audit.snapshot(circuit, CIRCUIT_FIELDS),
    )
    return circuit


def update(
    session: Session,
    circuit: Circuit,
    author: User,
    expected_version: int,
    description: str | None = None,
    status: str | None = None,
) -> Circuit:
    if circuit.version != expected_version:
        raise VersionConflict(
            f"conflict on circuit {circuit.name!r}: you edited version {expected_version}, "
            f"but version {circuit.version} is newer",
            circuit.version,
        )
    before = audit.snapshot(circuit, CIRCUIT_FIELDS)
    if status is not None:
        _check_status(status)
        circuit.status = status
    if description is not None:
        check_description(description)
        circuit.description = description
    touch(circuit)
    session.flush()
    fulltext.sync_circuit(session, circuit, session.get_one(User, circuit.author_id).name)
    audit.record(
        session, author.name, "circuit.update", "circuit", circuit.name,
        before, audit.snapshot(circuit, CIRCUIT_FIELDS),
    )
    return circuit


def touch(circuit: Circuit) -> None:
    circuit.version += 1
    circuit.updated_at = utcnow()


def add_node(
    session: Session, circuit: Circuit, address: FeatureAddress, role: str | None, author: User
) -> None:
    check_optional(role, "node role")
    feature, _layer, _model = get_feature(session, address)
    exists = session.scalar(
        select(CircuitNode.id).where(
            CircuitNode.circuit_id == circuit.id, CircuitNode.feature_id == feature.id
        )
    )
    if exists is not None:
        return
    session.add(CircuitNode(circuit_id=circuit.id, feature_id=feature.id, role=role))
    fulltext.refresh_known(session, [feature.id])
    touch(circuit)
    audit.record(
        session, author.name, "circuit.add_node", "circuit", circuit.name,
        None, {"node": str(address), "role": role},
    )


def remove_node(session: Session, circuit: Circuit, address: FeatureAddress, author: User) -> None:
    feature, _layer, _model = get_feature(session, address)
    session.execute(
        delete(CircuitEdge).where(
            CircuitEdge.circuit_id == circuit.id,
            (CircuitEdge.src_feature_id == feature.id) | (CircuitEdge.dst_feature_id == feature.id),
        )
    )
    removed = session.execute(
        delete(CircuitNode).where(
            CircuitNode.circuit_id == circuit.id, CircuitNode.feature_id == feature.id
        )
    ).rowcount
    if not removed:
        raise NotFound(f"{address} is not a node of circuit {circuit.name!r}")
    fulltext.refresh_known(session, [feature.id])
    touch(circuit)
    audit.record(
        session, author.name, "circuit.remove_node", "circuit", circuit.name,
        {"node": str(address)}, None,
    )


def check_sign(sign: str | None) -> None:
    if sign is not None and sign not in CIRCUIT_EDGE_SIGNS:
        raise InvalidInput(f"unknown circuit edge sign {sign!r} (one of {', '.join(CIRCUIT_EDGE_SIGNS)}, or none)")


def add_edge(
    session: Session, circuit: Circuit, src: FeatureAddress, dst: FeatureAddress, note: str | None, author: User,
    sign: str | None = None,
) -> None:
    """Connect two features in the circuit, adding them as nodes when needed; an edge that
    is already there is left as it is (its note and sign included)."""
    if src == dst:
        raise InvalidInput("a circuit edge needs two different features")
    check_optional(note, "circuit edge note", multiline=True, max_len=MAX_NOTE_CHARS)
    check_sign(sign)
    for address in (src, dst):
        add_node(session, circuit, address, None, author)
    src_feature, dst_feature = get_feature(session, src)[0], get_feature(session, dst)[0]
    exists = session.scalar(
        select(CircuitEdge.id).where(
            CircuitEdge.circuit_id == circuit.id,
            CircuitEdge.src_feature_id == src_feature.id,
            CircuitEdge.dst_feature_id == dst_feature.id,
        )
    )
    if exists is not None:
        return
    weight_edge = session.scalar(
        select(Edge.id)
        .where(Edge.src_feature_id == src_feature.id, Edge.dst_feature_id == dst_feature.id)
        .order_by(Edge.kind)
        .limit(1)
    )
    session.add(
        CircuitEdge(
            circuit_id=circuit.id,
            src_feature_id=src_feature.id,
            dst_feature_id=dst_feature.id,
            edge_id=weight_edge,
            note=note,
            sign=sign,
        )
    )
    touch(circuit)
    audit.record(
        session, author.name, "circuit.add_edge", "circuit", circuit.name,
        None, {"src": str(src), "dst": str(dst), "note": note, "sign": sign},
    )


def remove_edge(session: Session, circuit: Circuit, src: FeatureAddress, dst: FeatureAddress, author: User) -> None:
    src_feature, dst_feature = get_feature(session, src)[0], get_feature(session, dst)[0]
    removed = session.execute(
        delete(CircuitEdge).where(
            CircuitEdge.circuit_id == circuit.id,
            CircuitEdge.src_feature_id == src_feature.id,
            CircuitEdge.dst_feature_id == dst_feature.id,
        )
    ).rowcount
    if not removed:
        raise NotFound(f"circuit {circuit.name!r} has no edge {src} -> {dst}")
    touch(circuit)
    audit.record(
        session, author.name, "circuit.remove_edge", "circuit", circuit.name,
        {"src": str(src), "dst": str(dst)}, None,
    )


def add_claim(
    session: Session, circuit: Circuit, prediction: str, experiment: dict | None, author: User
) -> CircuitClaim:
    prediction = check_prediction(prediction)
    experiment = check_claim_experiment(experiment)
    claim = CircuitClaim(
        circuit_id=circuit.id,
        prediction=prediction,
        experiment=experiment,
        status="untested",
        author_id=author.id,
    )
    session.add(claim)
    touch(circuit)
    session.flush()
    fulltext.sync_claim(session, claim, circuit.name, author.name)
    audit.record(
        session, author.name, "circuit.add_claim", "circuit", circuit.name,
        None, {"claim_id": claim.id, "prediction": prediction, "experiment": experiment},
    )
    return claim


def set_claim_status(
    session: Session, claim_id: int, status: str, result: str | None, author: User
) -> CircuitClaim:
    check_claim_status(status, result)
    claim = session.get(CircuitClaim, check_id(claim_id, "claim id"))
    if claim is None:
        raise NotFound(f"unknown claim {claim_id}")
    before = {"status": claim.status, "result": claim.result}
    claim.status, claim.result = status, result
    circuit = session.get_one(Circuit, claim.circuit_id)
    touch(circuit)
    fulltext.sync_claim(session, claim, circuit.name, session.get_one(User, claim.author_id).name)
    audit.record(
        session, author.name, "circuit.claim_status", "circuit", circuit.name,
        before, {"claim_id": claim_id, "status": status, "result": result},
    )
    return claim


def describe(session: Session, circuit: Circuit) -> CircuitInfo:
    nodes = list(session.execute(
        select(CircuitNode.feature_id, CircuitNode.role)
        .where(CircuitNode.circuit_id == circuit.id)
        .order_by(CircuitNode.id)
    ))
    edges = list(session.execute(
        select(CircuitEdge.src_feature_id, CircuitEdge.dst_feature_id, CircuitEdge.note, CircuitEdge.sign)
        .where(CircuitEdge.circuit_id == circuit.id)
        .order_by(CircuitEdge.id)
    ))
    claims = session.scalars(
        select(CircuitClaim).where(CircuitClaim.circuit_id == circuit.id).order_by(CircuitClaim.id)
    )
    names = addresses_of(session, {n[0] for n in nodes} | {e[0] for e in edges} | {e[1] for e in edges})
    return CircuitInfo(
        name=circuit.name,
        description=circuit.description,
        status=circuit.status,
        author=session.get_one(User, circuit.author_id).name,
        version=circuit.version,
        nodes=[(names[fid], role) for fid, role in nodes],
        edges=[CircuitEdgeInfo(names[s], names[d], note, sign) for s, d, note, sign in edges],
        claims=[
            ClaimInfo(c.id, c.prediction, c.experiment, c.status, c.result) for c in claims
        ],
    )


def _check_status(status: str) -> None:
    if status not in CIRCUIT_STATUSES:
        raise InvalidInput(
            f"unknown circuit status {status!r} (one of {', '.join(CIRCUIT_STATUSES)})"
        )
