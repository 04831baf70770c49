"""Evidence on a feature, circuit or edge, uploaded images included. Part of the Catalog
API (mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from atlas.address import FeatureAddress, as_feature
from atlas.bounds import check_id
from atlas.catalog import circuits, evidence
from atlas.catalog.records import EvidenceInfo
from atlas.catalog.resolve import get_feature, require_role
from atlas.db.models import Edge
from atlas.errors import InvalidInput


class EvidenceMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions and acting user."""

    def add_evidence(
        self,
        kind: str,
        body: str = "",
        *,
        feature: str | FeatureAddress | None = None,
        circuit: str | None = None,
        edge_id: int | None = None,
        blobs: Sequence[str] = (),
        author: str | None = None,
    ) -> EvidenceInfo:
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "add evidence")
            target, ids = self._evidence_target(session, feature, circuit, edge_id)
            row = evidence.add(session, self.blobs, target, ids, kind, body, list(blobs), actor)
            return EvidenceInfo(row.id, target, row.kind, row.body, row.blobs, actor.name, row.created_at)

    def add_image_evidence(
        self, data: bytes, caption: str = "", *, feature: str | FeatureAddress | None = None,
        circuit: str | None = None, edge_id: int | None = None, author: str | None = None,
    ) -> EvidenceInfo:
        """Attach an uploaded PNG or JPEG: checked and re-encoded by ``atlas.catalog.uploads``
        before anything is stored (the role is checked first, so a viewer stores nothing)."""
        from atlas.catalog.uploads import clean_image  # Pillow: loaded by the first upload

        with self._reading() as session:
            require_role(session, self._author(session, author), "curator", "add evidence")
        evidence.check_body("image", caption)  # a refused caption stores no image
        sha = self.blobs.put_bytes(clean_image(data))
        return self.add_evidence("image", caption, feature=feature, circuit=circuit,
                                 edge_id=edge_id, blobs=[sha], author=author)

    def evidence(
        self, *, feature: str | FeatureAddress | None = None, circuit: str | None = None,
        edge_id: int | None = None,
    ) -> list[EvidenceInfo]:
        with self._reading() as session:
            target, ids = self._evidence_target(session, feature, circuit, edge_id)
            return evidence.listed(session, target, ids)

    @staticmethod
    def _evidence_target(
        session: Session, feature: str | FeatureAddress | None, circuit: str | None, edge_id: int | None
    ) -> tuple[str, dict[str, int]]:
        given = [t for t in (feature, circuit, edge_id) if t is not None]
        if len(given) != 1:
            raise InvalidInput("evidence is attached to exactly one feature, circuit or edge")
        if feature is not None:
            address = as_feature(feature)
            return str(address), {"feature_id": get_feature(session, address)[0].id}
        if circuit is not None:
            return f"circuit:{circuit}", {"circuit_id": circuits.get(session, circuit).id}
        if session.get(Edge, check_id(edge_id, "edge id")) is None:
            raise InvalidInput(f"unknown edge {edge_id}")
        return f"edge:{edge_id}", {"edge_id": edge_id}
