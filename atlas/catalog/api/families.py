"""Families of features. Part of the Catalog API (mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from sqlalchemy import select

from atlas.address import FeatureAddress, as_feature
from atlas.catalog import audit, families, relations
from atlas.catalog.records import FamilyInfo, NewFamily, RelationInfo
from atlas.catalog.resolve import get_feature, require_role
from atlas.db.models import Family
from atlas.errors import InvalidInput
from atlas.jobs.params import check_stimuli
from atlas.vocabulary import FAMILY_PROPOSAL_METHOD


class FamiliesMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions and acting user."""

    def create_family(self, name: str, description: str = "", author: str | None = None) -> FamilyInfo:
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "create families")
            return families.describe(session, families.create(session, name, description, actor))

    def add_family_member(self, family: str, feature: str | FeatureAddress, note: str | None = None,
                          author: str | None = None) -> FamilyInfo:
        address = as_feature(feature)
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "edit families")
            row = families.get(session, family)
            families.add_member(session, row, address, note, actor)
            session.flush()
            return families.describe(session, row)

    def family(self, name: str) -> FamilyInfo:
        with self._reading() as session:
            return families.describe(session, families.get(session, name))

    def families_of(self, feature: str | FeatureAddress) -> list[str]:
        address = as_feature(feature)
        with self._reading() as session:
            return families.of_feature(session, get_feature(session, address)[0].id)

    def family_names(self) -> list[str]:
        with self._reading() as session:
            return list(session.scalars(select(Family.name).order_by(Family.name)))

    def add_analogous_families(self, a: NewFamily, b: NewFamily, stimuli: dict, score: float,
                               details: dict | None = None, author: str | None = None) -> list[FamilyInfo]:
        """Create families ``a`` and ``b`` (each of features of one model and layer) and
        store ``a`` as analogous to ``b`` (method ``FAMILY_PROPOSAL_METHOD``, with
        ``score`` over ``stimuli``): what ``atlas families propose --save`` stores for
        curators to accept. All or nothing (a taken name, a hostile member: nothing is
        written). Curators and above; audited."""
        check_stimuli(stimuli)
        addresses = [[as_feature(member) for member in family.members] for family in (a, b)]
        for family, members in zip((a, b), addresses):
            if len({(m.model, m.layer) for m in members}) != 1:
                raise InvalidInput(f"family {family.name!r} needs members of one model and layer")
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "create families")
            rows = []
            for family, members in zip((a, b), addresses):
                row = families.create(session, family.name, family.description, actor)
                for member in members:
                    families.add_member(session, row, member, None, actor)
                rows.append(row)
            relations.put_families(session, stimuli, rows[0], rows[1], score, details)
            audit.record(session, actor.name, "relations.add", "family", f"{rows[0].name}->{rows[1].name}", None,
                         {"relation": "analogous", "method": FAMILY_PROPOSAL_METHOD, "score": score})
            return [families.describe(session, row) for row in rows]

    def add_family_link(self, src: str, dst: str, relation: str, source: str, note: str | None = None,
                        author: str | None = None) -> bool:
        """Store family ``src`` as ``relation`` (``analogous`` or ``inputs_of``) to family
        ``dst`` as a source states it (``source``, an http(s) URL, e.g. an article's
        figure): method ``published``, no score, as nothing here measured it. False when
        that link is stored already. Curators and above; audited."""
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "link families")
            return relations.put_family_link(session, actor.name, relation, families.get(session, src),
                                             families.get(session, dst), source, note)

    def family_relations(self, name: str) -> list[RelationInfo]:
        """The relations family ``name`` is an end of (analogous families, the inputs of
        another family), the measured ones best first, then the published ones (no score,
        their ``source``)."""
        with self._reading() as session:
            return relations.of_family(session, families.get(session, name).id)
