"""Curated objects beyond labels: evidence, circuits and their claims, families, seeds and
bundles. Part of the Catalog API (mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.address import parse_feature
from atlas.bounds import check_id
from atlas.catalog import circuits, evidence, families
from atlas.catalog.records import (
    CircuitInfo,
    EvidenceInfo,
    FamilyInfo,
)
from atlas.catalog.resolve import get_feature, require_role
from atlas.db.models import Circuit, Edge
from atlas.errors import InvalidInput
from atlas.exchange import seed
from atlas.exchange.bundle.read import ImportReport, import_bundle, stage_bundle
from atlas.exchange.bundle.write import write_bundle


class CurationMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions and acting user."""

    # -- evidence --------------------------------------------------------------------

    def add_evidence(
        self,
        kind: str,
        body: str = "",
        *,
        feature: str | None = None,
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

    def evidence(
        self, *, feature: str | None = None, circuit: str | None = None, edge_id: int | None = None
    ) -> list[EvidenceInfo]:
        with self._reading() as session:
            target, ids = self._evidence_target(session, feature, circuit, edge_id)
            return evidence.listed(session, target, ids)

    @staticmethod
    def _evidence_target(
        session: Session, feature: str | None, circuit: str | None, edge_id: int | None
    ) -> tuple[str, dict[str, int]]:
        given = [t for t in (feature, circuit, edge_id) if t is not None]
        if len(given) != 1:
            raise InvalidInput("evidence is attached to exactly one feature, circuit or edge")
        if feature is not None:
            return str(parse_feature(feature)), {"feature_id": get_feature(session, feature)[0].id}
        if circuit is not None:
            return f"circuit:{circuit}", {"circuit_id": circuits.get(session, circuit).id}
        if session.get(Edge, check_id(edge_id, "edge id")) is None:
            raise InvalidInput(f"unknown edge {edge_id}")
        return f"edge:{edge_id}", {"edge_id": edge_id}

    # -- circuits --------------------------------------------------------------------

    def create_circuit(
        self, name: str, description: str = "", status: str = "draft", author: str | None = None
    ) -> CircuitInfo:
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "create circuits")
            return circuits.describe(session, circuits.create(session, name, description, status, actor))

    def circuit(self, name: str) -> CircuitInfo:
        with self._reading() as session:
            return circuits.describe(session, circuits.get(session, name))

    def circuits(self) -> list[str]:
        with self._reading() as session:
            return list(session.scalars(select(Circuit.name).order_by(Circuit.name)))

    def update_circuit(
        self, name: str, expected_version: int, description: str | None = None,
        status: str | None = None, author: str | None = None,
    ) -> CircuitInfo:
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "edit circuits")
            circuit = circuits.get(session, name)
            return circuits.describe(
                session, circuits.update(session, circuit, actor, expected_version, description, status)
            )

    def _edit_circuit(self, name: str, author: str | None, edit: Callable[..., object],
                      *args: object) -> CircuitInfo:
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "edit circuits")
            circuit = circuits.get(session, name)
            edit(session, circuit, *args, actor)
            session.flush()
            return circuits.describe(session, circuit)

    def add_circuit_node(self, circuit: str, feature: str, role: str | None = None,
                         author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(circuit, author, circuits.add_node, str(parse_feature(feature)), role)

    def remove_circuit_node(self, circuit: str, feature: str, author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(circuit, author, circuits.remove_node, str(parse_feature(feature)))

    def add_circuit_edge(self, circuit: str, src: str, dst: str, note: str | None = None,
                         author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(
            circuit, author, circuits.add_edge, str(parse_feature(src)), str(parse_feature(dst)), note
        )

    def remove_circuit_edge(self, circuit: str, src: str, dst: str,
                            author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(
            circuit, author, circuits.remove_edge, str(parse_feature(src)), str(parse_feature(dst))
        )

    def add_claim(self, circuit: str, prediction: str, experiment: dict | None = None,
                  author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(circuit, author, circuits.add_claim, prediction, experiment)

    def set_claim_status(self, claim_id: int, status: str, result: str | None = None,
                         author: str | None = None) -> None:
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "reviewer", "judge claims")
            circuits.set_claim_status(session, claim_id, status, result, actor)

    # -- families --------------------------------------------------------------------

    def create_family(self, name: str, description: str = "", author: str | None = None) -> FamilyInfo:
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "create families")
            return families.describe(session, families.create(session, name, description, actor))

    def add_family_member(self, family: str, feature: str, note: str | None = None,
                          author: str | None = None) -> FamilyInfo:
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "edit families")
            row = families.get(session, family)
            families.add_member(session, row, str(parse_feature(feature)), note, actor)
            session.flush()
            return families.describe(session, row)

    def family(self, name: str) -> FamilyInfo:
        with self._reading() as session:
            return families.describe(session, families.get(session, name))

    def families_of(self, feature: str) -> list[str]:
        with self._reading() as session:
            return families.of_feature(session, get_feature(session, feature)[0].id)

    # -- bundles ---------------------------------------------------------------------

    def export_bundle(
        self, target: str | IO[bytes], models: Sequence[str] | None = None, origin: str | None = None
    ) -> dict[str, int]:
        """Write the catalogue (or some models of it) as a bundle zip; returns counts.
        ``origin`` names this catalogue in it (default: the ``catalogue_name`` setting)."""
        with self._reading() as session:
            return write_bundle(session, self.blobs, target, list(models) if models else None, origin)

    def import_bundle(self, source: str | IO[bytes], author: str | None = None) -> ImportReport:
        """Merge a bundle in one transaction; a bad bundle is rejected with nothing written.
        Its blobs are staged while it is checked and moved into the store only once the
        transaction has committed."""
        with self._reading() as session:
            require_role(session, self._author(session, author), "admin", "import bundles")
        with self.blobs.staging() as folder, stage_bundle(source, folder) as bundle:
            with self._writing() as session:
                user = require_role(session, self._author(session, author), "admin", "import bundles")
                report = import_bundle(session, self.blobs, bundle, user)
            for sha, path in bundle.blobs.items():
                self.blobs.put_file(path, sha)
        return report

    # -- seeds -----------------------------------------------------------------------

    def load_seed(self, name_or_path: str, author: str | None = None) -> seed.SeedReport:
        """Load a seed catalogue (``inceptionv1``, ``demo`` or a path) in one transaction."""
        with self._writing() as session:
            return seed.load_seed(session, self.blobs, name_or_path, self._author(session, author))
