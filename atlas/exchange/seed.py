"""Seed catalogues: published facts (labels, families, circuits with claims, sources)
loaded onto a registered model, e.g. ``atlas import seed inceptionv1``.

Loading is one transaction and idempotent: it adds what is missing, leaves what is already
there, and never overwrites a curator's different label; those are reported as conflicts.
Every seeded label and circuit carries its source as link evidence.

A seed's families are each one layer of one model, as the catalogue requires (a family
that spans layers is refused and nothing is written). How families of different layers
relate is the seed's ``links`` (``analogous``, ``inputs of``, each with its source and a
note): stored as family-to-family relations (``analogous``, ``inputs_of``) with method
``published``, the source's URL and no score, since a source states them and nothing here
measured them (the early curves are linked to the curves, not merged with them). A circuit
edge is ``[src, dst, note]`` or ``{"src", "dst", "note", "sign"}`` with the sign the
source states; a claim may name the figure it comes from (``figure``: source, section
anchor, figure), which the stored prediction then ends with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.address import as_feature
from atlas.catalog import circuits, evidence, families, labels, relations
from atlas.catalog.api.exchange import EXCHANGERS
from atlas.catalog.current import current_versions, is_current
from atlas.catalog.resolve import get_feature, get_model, require_role
from atlas.db.blobs import BlobStore
from atlas.db.models import Circuit, CircuitClaim, Evidence, Family, Label, User
from atlas.errors import AtlasError, InvalidInput, NotFound
from atlas.text import check_optional
from atlas.vocabulary import REVIEW_STATUSES

SEED_DIR = Path(__file__).resolve().parents[2] / "seed_data"
SCHEMA, VERSION = "atlas.seed", 1
# How two families of different layers relate, as a seed writes it, and as a relation.
LINK_RELATIONS = {"analogous": "analogous", "inputs of": "inputs_of"}


@dataclass
class SeedReport:
    labels_added: int = 0
    labels_present: int = 0
    conflicts: list[str] = field(default_factory=list)
    evidence_added: int = 0
    families_created: int = 0
    members_added: int = 0
    circuits_created: int = 0
    claims_added: int = 0
    links_added: int = 0  # family links stored as published relations

    def summary(self) -> str:
        return (
            f"{self.labels_added} labels added ({self.labels_present} already present, "
            f"{len(self.conflicts)} left as curated), {self.families_created} families and "
            f"{self.members_added} members, {self.circuits_created} circuits with "
            f"{self.claims_added} claims, {self.evidence_added} source links, {self.links_added} family links "
            "(published, not measured)"
        )


def seed_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".json" and path.exists():
        return path
    named = SEED_DIR / f"{name_or_path}.seed.json"
    if not named.exists():
        known = ", ".join(sorted(p.name.removesuffix(".seed.json") for p in SEED_DIR.glob("*.seed.json")))
        raise NotFound(f"no seed named {name_or_path!r} (seeds: {known})")
    return named


def read_seed(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read seed {path}: {exc}") from None
    if data.get("schema") != SCHEMA or data.get("version") != VERSION:
        raise InvalidInput(f"{path} is not an {SCHEMA} version {VERSION} file")
    return data


def _validate(session: Session, data: dict) -> None:
    """Every address must exist, and every family be one layer and every edge sign known,
    before anything is written: a refused seed then costs a read, not the writing of a
    thousand labels to be rolled back."""
    try:
        get_model(session, data["model"])
    except NotFound:
        raise NotFound(
            f"model {data['model']!r} is not registered: add it first "
            f"(atlas model add {data['model']} --arch {data['model']} --weights FILE)"
        ) from None
    addresses = [entry["address"] for entry in data.get("labels", [])]
    addresses += [a for fam in data.get("families", []) for a in fam["members"]]
    addresses += [a for c in data.get("circuits", []) for e in c["edges"] for a in circuit_edge(e)[:2]]
    for circuit in data.get("circuits", []):
        for claim in circuit.get("claims", []):
            figure_reference(data, claim)
    check_links(data)
    layers: dict[str, tuple[int, str]] = {}  # address -> its layer's (id, model/layer)
    bad = []
    for address in dict.fromkeys(addresses):
        try:
            _, layer, model = get_feature(session, address)
            layers[address] = (layer.id, f"{model.name}/{layer.name}")
        except AtlasError as exc:
            bad.append(str(exc))
    if bad:
        raise InvalidInput(f"seed does not fit the registered model ({len(bad)} problems): {'; '.join(bad[:3])}")
    for entry in data.get("families", []):
        stored = session.scalar(select(Family).where(Family.name == entry["name"]))
        held = families.layer_of(session, stored) if stored is not None else None
        for address in entry["members"]:
            families.check_member_layer(entry["name"], held, layers[address][0], address)
            held = held or layers[address]
    for entry in data.get("circuits", []):
        for edge in entry["edges"]:
            circuits.check_sign(circuit_edge(edge)[3])


def circuit_edge(entry: object) -> tuple[str, str, str | None, str | None]:
    """A seeded circuit edge as ``(src, dst, note, sign)``: from ``[src, dst, note]`` or
    ``{"src", "dst", "note", "sign"}`` (note and sign optional)."""
    if isinstance(entry, list) and len(entry) == 3:
        return entry[0], entry[1], entry[2], None
    if isinstance(entry, dict) and {"src", "dst"} <= set(entry) <= {"src", "dst", "note", "sign"}:
        return entry["src"], entry["dst"], entry.get("note"), entry.get("sign")
    raise InvalidInput(f"a seed's circuit edge is [src, dst, note] or an object with src, dst, note and sign, "
                       f"not {str(entry)[:80]!r}")


def figure_reference(data: dict, claim: dict) -> str:
    """How a claim names its figure, ``[figure: TITLE, FIGURE, URL#SECTION]``; empty when it
    names none. A figure names a known source, a section anchor and the figure itself."""
    figure = claim.get("figure")
    if figure is None:
        return ""
    if not isinstance(figure, dict) or set(figure) != {"source", "section", "figure"}:
        raise InvalidInput(f"a claim's figure is an object with source, section and figure, not {str(figure)[:80]!r}")
    source = data["sources"].get(figure["source"])
    if source is None:
        raise InvalidInput(f"claim figure names unknown source {str(figure['source'])[:80]!r}")
    section, name = figure["section"], figure["figure"]
    if not (isinstance(section, str) and section.replace("-", "").isalnum() and isinstance(name, str) and name):
        raise InvalidInput(f"claim figure needs a section anchor (letters, digits, '-') and a figure name, "
                           f"not {str(section)[:40]!r} and {str(name)[:40]!r}")
    return f" [figure: {source['title']}, {name}, {source['url']}#{section}]"


def check_links(data: dict) -> None:
    """Each link joins two of the seed's families with a known relation and source (and
    at most a short note); the relation's own checks follow when it is stored."""
    names = {family["name"] for family in data.get("families", [])}
    for link in data.get("links", []):
        if not isinstance(link, dict) or not {"from", "to", "relation", "source"} <= set(link) <= {
                "from", "to", "relation", "source", "note"}:
            raise InvalidInput(f"a seed's family link has from, to, relation, source and a note, "
                               f"not {str(link)[:80]!r}")
        if not all(isinstance(link[key], str) for key in ("from", "to", "relation", "source")):
            raise InvalidInput(f"a family link's from, to, relation and source are names, not {str(link)[:80]!r}")
        unknown = [link[end] for end in ("from", "to") if link[end] not in names]
        if unknown:
            raise InvalidInput(f"family link names no family of this seed: {str(unknown[0])[:80]!r}")
        if link["relation"] not in LINK_RELATIONS:
            raise InvalidInput(f"unknown family link relation {str(link['relation'])[:40]!r} "
                               f"(one of {', '.join(LINK_RELATIONS)})")
        if link["source"] not in data["sources"]:
            raise InvalidInput(f"family link names unknown source {str(link['source'])[:80]!r}")
        check_optional(link.get("note"), "a family link's note", max_len=relations.MAX_NOTE_CHARS)


def _links(session: Session, data: dict, author: User, report: SeedReport) -> None:
    """The seed's family links as published relations (from, relation, to; the source's
    URL and the note kept; no score); those already stored are left. Audited."""
    for link in data.get("links", []):
        src, dst = families.get(session, link["from"]), families.get(session, link["to"])
        relation, url = LINK_RELATIONS[link["relation"]], data["sources"][link["source"]]["url"]
        report.links_added += relations.put_family_link(session, author.name, relation, src, dst, url,
                                                        link.get("note"))


def _link(session: Session, store: BlobStore, report: SeedReport, target: str, ids: dict, url: str,
          author: User) -> None:
    column, value = next(iter(ids.items()))
    present = session.scalar(
        select(Evidence.id).where(getattr(Evidence, column) == value, Evidence.kind == "link", Evidence.body == url)
    )
    if present is None:
        evidence.add(session, store, target, ids, "link", url, [], author)
        report.evidence_added += 1


def _current_labels(session: Session, feature_ids: list[int]) -> dict[int, Label]:
    """The current label of many features, in a few queries."""
    out: dict[int, Label] = {}
    for start in range(0, len(feature_ids), 500):
        chunk = feature_ids[start:start + 500]
        latest = current_versions(Label.feature_id.in_(chunk))
        out.update((label.feature_id, label)
                   for label in session.scalars(select(Label).join(latest, is_current(latest))))
    return out


def _labels(session: Session, store: BlobStore, data: dict, author: User, report: SeedReport) -> None:
    entries = data.get("labels", [])
    ids = {e["address"]: get_feature(session, e["address"])[0].id for e in entries}
    current = _current_labels(session, list(ids.values()))
    links = set(session.execute(
        select(Evidence.feature_id, Evidence.body).where(Evidence.kind == "link", Evidence.feature_id.in_(ids.values()))
    ).all())
    for entry in entries:
        address, feature_id = entry["address"], ids[entry["address"]]
        existing = current.get(feature_id)
        if existing is None:
            labels.append_version(session, feature_id, address, None, entry["text"], entry["status"],
                                  entry.get("confidence"), author, data.get("label_reason", "from a seed catalogue"))
            report.labels_added += 1
        elif existing.text == entry["text"]:
            report.labels_present += 1
        else:
            report.conflicts.append(f"{address}: kept {existing.text!r}, seed says {entry['text']!r}")
        for source in entry.get("sources", []):
            url = data["sources"][source]["url"]
            if (feature_id, url) not in links:
                evidence.add(session, store, address, {"feature_id": feature_id}, "link", url, [], author)
                report.evidence_added += 1


def _families(session: Session, data: dict, author: User, report: SeedReport) -> None:
    for entry in data.get("families", []):
        family = session.scalar(select(Family).where(Family.name == entry["name"]))
        if family is None:
            family = families.create(session, entry["name"], entry.get("description", ""), author)
            report.families_created += 1
        for address in entry["members"]:
            report.members_added += families.add_member(session, family, as_feature(address), None, author)


def _circuits(session: Session, store: BlobStore, data: dict, author: User, report: SeedReport) -> None:
    for entry in data.get("circuits", []):
        circuit = session.scalar(select(Circuit).where(Circuit.name == entry["name"]))
        if circuit is None:
            circuit = circuits.create(session, entry["name"], entry["description"], entry["status"], author)
            report.circuits_created += 1
        for edge in entry["edges"]:
            src, dst, note, sign = circuit_edge(edge)
            circuits.add_edge(session, circuit, as_feature(src), as_feature(dst), note, author, sign)
        known = set(session.scalars(select(CircuitClaim.prediction).where(CircuitClaim.circuit_id == circuit.id)))
        for claim in entry.get("claims", []):
            prediction = claim["prediction"] + figure_reference(data, claim)
            if prediction not in known:
                circuits.add_claim(session, circuit, prediction, claim.get("experiment"), author)
                report.claims_added += 1
        if entry.get("source"):
            url = data["sources"][entry["source"]]["url"]
            _link(session, store, report, f"circuit:{circuit.name}", {"circuit_id": circuit.id}, url, author)


def load_seed(session: Session, store: BlobStore, name_or_path: str, author: str) -> SeedReport:
    data = read_seed(seed_path(name_or_path))
    needs_review = any(e["status"] in REVIEW_STATUSES for e in data.get("labels", []))
    user = require_role(session, author, "reviewer" if needs_review else "curator", "load this seed")
    _validate(session, data)
    report = SeedReport()
    _labels(session, store, data, user, report)
    _families(session, data, user, report)
    _circuits(session, store, data, user, report)
    _links(session, data, user, report)
    return report


EXCHANGERS.register("seed", load_seed)  # what ``Catalog.load_seed`` looks up by name
