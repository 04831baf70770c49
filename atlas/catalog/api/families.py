"""Families of features. Part of the Catalog API (mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from sqlalchemy import select

from atlas.address import FeatureAddress, as_feature
from atlas.catalog import families
from atlas.catalog.records import FamilyInfo
from atlas.catalog.resolve import get_feature, require_role
from atlas.db.models import Family


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
