"""Circuits: their nodes, curated edges and claims. Part of the Catalog API (mixed into
``atlas.catalog.Catalog``)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from atlas.address import FeatureAddress, as_feature
from atlas.catalog import circuits
from atlas.catalog.records import CircuitInfo
from atlas.catalog.resolve import require_role
from atlas.db.models import Circuit


class CircuitsMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions and acting user."""

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

    def add_circuit_node(self, circuit: str, feature: str | FeatureAddress, role: str | None = None,
                         author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(circuit, author, circuits.add_node, as_feature(feature), role)

    def remove_circuit_node(self, circuit: str, feature: str | FeatureAddress,
                            author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(circuit, author, circuits.remove_node, as_feature(feature))

    def add_circuit_edge(self, circuit: str, src: str | FeatureAddress, dst: str | FeatureAddress,
                         note: str | None = None, author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(
            circuit, author, circuits.add_edge, as_feature(src), as_feature(dst), note
        )

    def remove_circuit_edge(self, circuit: str, src: str | FeatureAddress, dst: str | FeatureAddress,
                            author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(
            circuit, author, circuits.remove_edge, as_feature(src), as_feature(dst)
        )

    def add_claim(self, circuit: str, prediction: str, experiment: dict | None = None,
                  author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(circuit, author, circuits.add_claim, prediction, experiment)

    def set_claim_status(self, claim_id: int, status: str, result: str | None = None,
                         author: str | None = None) -> None:
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "reviewer", "judge claims")
            circuits.set_claim_status(session, claim_id, status, result, actor)
