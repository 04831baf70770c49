"""Families: groups of analogous features within one layer of one model ("curve
detectors of mixed3b").

A family is one layer of one model: the units of a family are compared with each other
(their orientations, their weights), which only means something inside one layer. The
same idea in another layer or model is another family, linked to this one as analogous;
a member from another layer is refused with one line. Migration 0008 split the families
of older catalogues that spanned layers, one per layer.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.address import FeatureAddress
from atlas.catalog import audit, fulltext
from atlas.catalog.records import FamilyInfo
from atlas.catalog.resolve import addresses_of, get_feature
from atlas.db.models import Family, FamilyMember, Feature, Layer, Model, User
from atlas.errors import InvalidInput, NotFound
from atlas.text import MAX_NOTE_CHARS, check_optional, check_text


def get(session: Session, name: str) -> Family:
    family = session.scalar(select(Family).where(Family.name == name))
    if family is None:
        raise NotFound(f"unknown family {name!r}")
    return family


def check(name: str, description: str) -> str:
    """The stripped name, once name and description are valid (API and bundle import)."""
    name = check_text(name if name is not None else "", "family name", max_len=200, strip=True)
    if not name:
        raise InvalidInput("a family needs a name of 1 to 200 characters")
    check_text(description, "family description", multiline=True, max_len=MAX_NOTE_CHARS)
    return name


def create(session: Session, name: str, description: str, author: User) -> Family:
    name = check(name, description)
    if session.scalar(select(Family.id).where(Family.name == name)) is not None:
        raise InvalidInput(f"a family named {name!r} already exists")
    family = Family(name=name, description=description)
    session.add(family)
    session.flush()
    fulltext.sync_family(session, family)
    audit.record(
        session, author.name, "family.create", "family", name,
        None, {"name": name, "description": description},
    )
    return family


def add_member(
    session: Session, family: Family, address: FeatureAddress, note: str | None, author: User
) -> bool:
    """Add a feature to a family; False when it already was a member."""
    check_optional(note, "family member note", multiline=True, max_len=MAX_NOTE_CHARS)
    feature, _layer, _model = get_feature(session, address)
    _check_same_layer(session, family, feature, address)
    exists = session.scalar(
        select(FamilyMember.id).where(
            FamilyMember.family_id == family.id, FamilyMember.feature_id == feature.id
        )
    )
    if exists is not None:
        return False
    session.add(FamilyMember(family_id=family.id, feature_id=feature.id, note=note))
    family.version += 1
    audit.record(
        session, author.name, "family.add_member", "family", family.name,
        None, {"member": str(address), "note": note},
    )
    return True


def _check_same_layer(session: Session, family: Family, feature: Feature, address: FeatureAddress) -> None:
    """Refuse a member from another layer than the family's. The family row is locked
    first (PostgreSQL; SQLite writers are serialized already) so two first members from
    different layers cannot both get in."""
    session.execute(select(Family.id).where(Family.id == family.id).with_for_update())
    check_member_layer(family.name, layer_of(session, family), feature.layer_id, address)


def check_member_layer(name: str, held: tuple[int, str] | None, layer_id: int, address: object) -> None:
    """Refuse a member whose layer is not ``held``, the family's (id, ``model/layer``);
    anything goes while the family has no layer yet. Also checks a seed's families before
    it writes anything."""
    if held is not None and held[0] != layer_id:
        raise InvalidInput(
            f"family {name!r} is in layer {held[1]}; {address} is in another layer "
            "(a family is one layer of one model: make a family in that layer instead)"
        )


def layer_of(session: Session, family: Family) -> tuple[int, str] | None:
    """The id and ``model/layer`` name of the family's layer; None while it has no members."""
    row = session.execute(
        select(Layer.id, Model.name, Layer.name)
        .join(Feature, Feature.layer_id == Layer.id)
        .join(FamilyMember, FamilyMember.feature_id == Feature.id)
        .join(Model, Model.id == Layer.model_id)
        .where(FamilyMember.family_id == family.id)
        .limit(1)
    ).first()
    return None if row is None else (row[0], f"{row[1]}/{row[2]}")


def describe(session: Session, family: Family) -> FamilyInfo:
    rows = list(session.execute(
        select(FamilyMember.feature_id, FamilyMember.note)
        .where(FamilyMember.family_id == family.id)
        .order_by(FamilyMember.id)
    ))
    names = addresses_of(session, {fid for fid, _ in rows})
    held = layer_of(session, family)
    return FamilyInfo(family.name, family.description, [(names[fid], note) for fid, note in rows],
                      None if held is None else held[1])


def of_feature(session: Session, feature_id: int) -> list[str]:
    return list(session.scalars(
        select(Family.name)
        .join(FamilyMember, FamilyMember.family_id == Family.id)
        .where(FamilyMember.feature_id == feature_id)
        .order_by(Family.name)
    ))
