"""Circuits: their nodes, curated edges and claims. Part of the Catalog API (mixed into
``atlas.catalog.Catalog``)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from atlas.address import FeatureAddress, as_feature
from atlas.catalog import audit, circuits, claim_results
from atlas.catalog.records import CircuitInfo, ClaimResultInfo
from atlas.catalog.resolve import require_role
from atlas.db.models import Circuit, CircuitNode, Feature, Layer, Model
from atlas.errors import InvalidInput
from atlas.experiments.spec import experiment_model
from atlas.jobs.params import check_params

EXPERIMENT_KIND = "experiment"


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

    def circuit_models(self) -> dict[str, list[str]]:
        """Every circuit's name -> the models its nodes belong to (sorted; empty for a
        circuit without nodes), so a unit can be offered the circuits of its own model first."""
        with self._reading() as session:
            found: dict[str, list[str]] = {name: [] for name in session.scalars(select(Circuit.name))}
            rows = session.execute(
                select(Circuit.name, Model.name).distinct()
                .join(CircuitNode, CircuitNode.circuit_id == Circuit.id)
                .join(Feature, Feature.id == CircuitNode.feature_id)
                .join(Layer, Layer.id == Feature.layer_id)
                .join(Model, Model.id == Layer.model_id)
                .order_by(Circuit.name, Model.name)
            )
            for circuit, model in rows:
                found[circuit].append(model)
            return found

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
                      *args: object, **options: object) -> CircuitInfo:
        with self._writing() as session:
            actor = require_role(session, self._author(session, author), "curator", "edit circuits")
            circuit = circuits.get(session, name)
            edit(session, circuit, *args, actor, **options)
            session.flush()
            return circuits.describe(session, circuit)

    def add_circuit_node(self, circuit: str, feature: str | FeatureAddress, role: str | None = None,
                         author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(circuit, author, circuits.add_node, as_feature(feature), role)

    def remove_circuit_node(self, circuit: str, feature: str | FeatureAddress,
                            author: str | None = None) -> CircuitInfo:
        return self._edit_circuit(circuit, author, circuits.remove_node, as_feature(feature))

    def add_circuit_edge(self, circuit: str, src: str | FeatureAddress, dst: str | FeatureAddress,
                         note: str | None = None, author: str | None = None,
                         sign: str | None = None) -> CircuitInfo:
        """Connect two features; ``sign`` says what the connection is said to do
        (``excitatory`` or ``inhibitory``), None where nobody stated it."""
        return self._edit_circuit(
            circuit, author, circuits.add_edge, as_feature(src), as_feature(dst), note, sign=sign
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

    def enqueue_experiments(self, circuit: str, claim_id: int | None = None,
                            author: str | None = None) -> list[int]:
        """Queue an ``experiment`` job for claim ``claim_id`` of ``circuit`` (default: each
        of its claims that has an experiment); returns the job ids. Every call queues new
        runs: the claim keeps the history of its results."""
        with self._reading() as session:
            actor = require_role(session, self._author(session, author), "curator", "run experiments").name
            found = circuits.get(session, circuit)
            claims = [(c.id, circuits.check_claim_experiment(c.experiment))
                      for c in claim_results.claims_to_run(session, found, claim_id)]
            fallback = session.scalar(
                select(Model.name).join(Layer, Layer.model_id == Model.id).join(Feature, Feature.layer_id == Layer.id)
                .join(CircuitNode, CircuitNode.feature_id == Feature.id).where(CircuitNode.circuit_id == found.id)
                .limit(1))
        runs = []
        for claim, experiment in claims:
            assert experiment is not None  # claims_to_run keeps the claims that have one
            model = experiment_model(experiment) or fallback
            if model is None:
                raise InvalidInput(f"claim {claim} names no model and circuit {circuit!r} has no node")
            self.model(model).check_not_imported()
            runs.append(check_params(EXPERIMENT_KIND, {"claim_id": claim, "model": model,
                                                      "experiment": experiment, "author": actor}))
        # The queue writes in its own transaction: on SQLite, holding ours would block it.
        ids = [self._queue.enqueue(EXPERIMENT_KIND, run, max_attempts=1) for run in runs]
        with self._writing() as session:
            audit.record(session, actor, "circuit.run_experiments", "circuit", circuit, None,
                         {"claims": [run["claim_id"] for run in runs], "jobs": ids})
        return ids

    def claim_results(self, claim_id: int) -> list[ClaimResultInfo]:
        """Every run of the claim's experiment, newest first."""
        with self._reading() as session:
            return claim_results.history(session, claim_id)
