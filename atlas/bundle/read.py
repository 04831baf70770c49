"""Importing a bundle: merge another catalogue into this one, in one transaction.

Things are matched by content, not ids: a model by name (and weights), a label version by
(text, status, author, time), evidence by all of its fields, an edge by (src, dst, kind).
What is new is added; what is already here is left alone; where the two catalogues
disagree (a circuit's description, an edge's strength, diverged label histories) ours is
kept, or both are kept in history, and the disagreement is reported. Authors unknown here
are added as viewers: an import never grants anyone the right to write.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from atlas import artifacts, audit, circuits, families, fulltext
from atlas.blobs import BlobStore
from atlas.bundle.format import BundleError, read_zip, records
from atlas.db.models import (
    Artifact, Circuit, CircuitClaim, Edge, Evidence, Family, Feature, Label, Model, User, utcnow,
)
from atlas.bundle.write import stamp
from atlas.lookup import get_feature, get_layer
from atlas.registry import insert_layer


@dataclass
class ImportReport:
    added: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    conflicts: list[str] = field(default_factory=list)

    def summary(self) -> str:
        added = ", ".join(f"{n} {t}" for t, n in sorted(self.added.items()) if n) or "nothing new"
        return f"added {added}; {len(self.conflicts)} conflicts"


class Importer:
    def __init__(self, session: Session, store: BlobStore, importer: User, members: dict[str, bytes]):
        self.session, self.store, self.importer, self.members = session, store, importer, members
        self.report = ImportReport()
        self.users = dict(session.execute(select(User.name, User.id)).all())
        self.layer_features: dict[tuple[str, str], dict[str, int]] = {}

    def table(self, name: str) -> list[dict]:
        return records(self.members, name)

    def user_id(self, name: str) -> int:
        if name not in self.users:
            user = User(name=name, role="viewer")
            self.session.add(user)
            self.session.flush()
            self.users[name] = user.id
            audit.record(self.session, self.importer.name, "user.add", "user", name, None,
                         {"name": name, "role": "viewer", "via": "bundle import"})
            self.report.added["users"] += 1
        return self.users[name]

    def feature_id(self, address: str) -> int:
        """Resolve an address through one query per layer (bundles hold thousands)."""
        model, layer, last = address.split("/")
        if (model, layer) not in self.layer_features:
            layer_row = get_layer(self.session, f"{model}/{layer}")[0]
            self.layer_features[(model, layer)] = {
                (str(channel) if kind == "unit" else f"dir:{name}"): fid
                for fid, kind, channel, name in self.session.execute(
                    select(Feature.id, Feature.kind, Feature.channel, Feature.name).where(Feature.layer_id == layer_row.id))
            }
        features = self.layer_features[(model, layer)]
        return features[last] if last in features else get_feature(self.session, address)[0].id

    def run(self) -> ImportReport:
        for sha_member, data in self.members.items():
            if sha_member.startswith("blobs/"):
                self.store.put_bytes(data)
        self.models()
        self.directions()
        self.labels()
        self.edges()
        self.artifacts()
        self.circuits()
        self.families()
        self.evidence()
        audit.record(self.session, self.importer.name, "bundle.import", "catalogue", "-", None,
                     {"added": dict(self.report.added), "conflicts": len(self.report.conflicts)})
        return self.report

    def models(self) -> None:
        """New models come in as inert metadata: their layers (and so their units' labels,
        edges and artifacts) are added, but the model is marked with its origin, keeps its
        architecture only as text and no source path, and workers refuse it until an admin
        registers it here with local weights (``atlas model add``)."""
        layers = defaultdict(list)
        for layer in self.table("layers"):
            layers[layer["model"]].append(layer)
        origin = f"bundle imported by {self.importer.name} on {utcnow():%Y-%m-%d}"
        for row in self.table("models"):
            existing = self.session.scalar(select(Model).where(Model.name == row["name"]))
            if existing is None:
                if not isinstance(row["architecture"], str) or len(row["architecture"]) > 200:
                    raise BundleError(f"models.jsonl: model {row['name']!r} has an invalid architecture")
                model = Model(**{k: row[k] for k in ("name", "architecture", "weights_sha256", "input_spec")},
                              source=None, origin=origin)
                self.session.add(model)
                self.session.flush()
                for layer in sorted(layers[row["name"]], key=lambda r: r["order"]):
                    insert_layer(self.session, model, layer["name"], layer["kind"], layer["channels"],
                                 layer["spatial_shape"], layer["order"])
                self.report.added["models"] += 1
                continue
            if (existing.architecture, existing.weights_sha256) != (row["architecture"], row["weights_sha256"]):
                raise BundleError(f"model {row['name']!r} exists here with other weights or architecture: "
                                  "rename one of them before merging")
            for layer in layers[row["name"]]:
                here = get_layer(self.session, f"{row['name']}/{layer['name']}")[0]
                if here.channels != layer["channels"]:
                    raise BundleError(f"layer {row['name']}/{layer['name']} has {here.channels} channels here, "
                                      f"{layer['channels']} in the bundle")

    def directions(self) -> None:
        for row in self.table("directions"):
            model, layer, last = row["address"].split("/")
            layer_row = get_layer(self.session, f"{model}/{layer}")[0]
            name = last.removeprefix("dir:")
            here = self.session.scalar(select(Feature).where(Feature.layer_id == layer_row.id, Feature.name == name))
            if here is None:
                self.session.add(Feature(layer_id=layer_row.id, kind="direction", name=name,
                                         vector_sha256=row["vector_sha256"]))
                self.report.added["directions"] += 1
            elif here.vector_sha256 != row["vector_sha256"]:
                self.report.conflicts.append(f"{row['address']}: a different vector here; kept ours")
        self.session.flush()

    def labels(self) -> None:
        """Merge label histories: versions new to us are appended in time order, in bulk."""
        incoming = defaultdict(list)
        for row in self.table("labels"):
            incoming[row["address"]].append(row)
        ids = {address: self.feature_id(address) for address in incoming}
        here: dict[int, list] = defaultdict(list)
        for chunk in _chunks(list(ids.values())):
            for label, name in self.session.execute(
                select(Label, User.name).join(User, User.id == Label.author_id)
                .where(Label.feature_id.in_(chunk)).order_by(Label.version)
            ):
                here[label.feature_id].append((label, name))
        label_rows, docs, entries = [], [], []
        for address, rows in incoming.items():
            fid = ids[address]
            keys = {(l.text, l.status, name, stamp(l.created_at)) for l, name in here[fid]}
            new = [r for r in sorted(rows, key=lambda r: (r["created_at"], r["version"]))
                   if (r["text"], r["status"], r["author"], stamp(datetime.fromisoformat(r["created_at"]))) not in keys]
            if not new:
                continue
            if len(here[fid]) > len(rows) - len(new):
                self.report.conflicts.append(f"{address}: label histories diverged; both kept, the bundle's "
                                             f"{new[-1]['text']!r} is now current")
            version = here[fid][-1][0].version if here[fid] else 0
            for row in new:
                version += 1
                label_rows.append({"feature_id": fid, "version": version, "text": row["text"], "status": row["status"],
                                   "confidence": row["confidence"], "reason": row["reason"],
                                   "author_id": self.user_id(row["author"]),
                                   "created_at": datetime.fromisoformat(row["created_at"])})
            last = new[-1]
            docs.append(fulltext.label_doc(fid, address, last["text"], last["reason"], last["status"], last["author"]))
            entries.append(audit.entry(self.importer.name, "label.import", "feature", address, None,
                                       {"versions": len(new), "current": last["text"]}))
        for chunk in _chunks(label_rows, 5000):
            self.session.execute(insert(Label), chunk)
        fulltext.replace_docs(self.session, docs)
        audit.record_many(self.session, entries)
        self.report.added["labels"] += len(label_rows)

    def edges(self) -> None:
        rows = self.table("edges")
        ids = {a: self.feature_id(a) for a in {r["src"] for r in rows} | {r["dst"] for r in rows}}
        here = {}
        for chunk_start in range(0, len(rows), 500):
            chunk = rows[chunk_start:chunk_start + 500]
            for src, dst, kind, strength in self.session.execute(
                select(Edge.src_feature_id, Edge.dst_feature_id, Edge.kind, Edge.strength)
                .where(Edge.dst_feature_id.in_({ids[r["dst"]] for r in chunk}))):
                here[(src, dst, kind)] = strength
        fresh = []
        for row in rows:
            key = (ids[row["src"]], ids[row["dst"]], row["kind"])
            if key not in here:
                fresh.append({"src_feature_id": key[0], "dst_feature_id": key[1],
                              **{k: row[k] for k in ("kind", "strength", "positive_mass", "negative_mass",
                                                     "rank_in", "rank_out", "kernel_sha256")}})
            elif here[key] != row["strength"]:
                self.report.conflicts.append(f"edge {row['src']} -> {row['dst']} ({row['kind']}): strength "
                                             f"{here[key]:.4g} here, {row['strength']:.4g} in the bundle; kept ours")
        if fresh:
            self.session.execute(insert(Edge), fresh)
        self.report.added["edges"] += len(fresh)

    def artifacts(self) -> None:
        rows = self.table("artifacts")
        ids = {row["address"]: self.feature_id(row["address"]) for row in rows}
        present = set()
        for chunk in _chunks(list(set(ids.values()))):
            present |= set(self.session.execute(
                select(Artifact.feature_id, Artifact.kind, Artifact.params_key).where(Artifact.feature_id.in_(chunk))
            ).all())
        fresh = []
        for row in rows:
            key = (ids[row["address"]], row["kind"], artifacts.params_key(row["params"]))
            if key not in present:
                present.add(key)
                fresh.append({"feature_id": key[0], "kind": row["kind"], "params": row["params"],
                              "params_key": key[2], "blobs": row["blobs"], "created_at": utcnow()})
        for chunk in _chunks(fresh, 5000):
            self.session.execute(insert(Artifact), chunk)
        self.report.added["artifacts"] += len(fresh)

    def circuits(self) -> None:
        for row in self.table("circuits"):
            circuit = self.session.scalar(select(Circuit).where(Circuit.name == row["name"]))
            if circuit is None:
                circuit = Circuit(name=row["name"], description=row["description"], status=row["status"],
                                  author_id=self.user_id(row["author"]),
                                  created_at=datetime.fromisoformat(row["created_at"]))
                self.session.add(circuit)
                self.session.flush()
                fulltext.sync_circuit(self.session, circuit, row["author"])
                self.report.added["circuits"] += 1
            elif (circuit.description, circuit.status) != (row["description"], row["status"]):
                self.report.conflicts.append(f"circuit {row['name']}: description or status differ; kept ours")
            for address, role in row["nodes"]:
                circuits.add_node(self.session, circuit, address, role, self.importer)
            for src, dst, note in row["edges"]:
                circuits.add_edge(self.session, circuit, src, dst, note, self.importer)
            known = set(self.session.scalars(select(CircuitClaim.prediction).where(CircuitClaim.circuit_id == circuit.id)))
            for claim in row["claims"]:
                if claim["prediction"] in known:
                    continue
                added = CircuitClaim(circuit_id=circuit.id, prediction=claim["prediction"], experiment=claim["experiment"],
                                     status=claim["status"], result=claim["result"],
                                     author_id=self.user_id(claim["author"]),
                                     created_at=datetime.fromisoformat(claim["created_at"]))
                self.session.add(added)
                self.session.flush()
                fulltext.sync_claim(self.session, added, circuit.name, claim["author"])
                self.report.added["claims"] += 1

    def families(self) -> None:
        for row in self.table("families"):
            family = self.session.scalar(select(Family).where(Family.name == row["name"]))
            if family is None:
                family = families.create(self.session, row["name"], row["description"], self.importer)
                self.report.added["families"] += 1
            elif family.description != row["description"]:
                self.report.conflicts.append(f"family {row['name']}: descriptions differ; kept ours")
            for address, note in row["members"]:
                self.report.added["family members"] += families.add_member(self.session, family, address, note, self.importer)

    def evidence(self) -> None:
        circuits_by_name = dict(self.session.execute(select(Circuit.name, Circuit.id)).all())
        for row in self.table("evidence"):
            target = row["target"]
            if target.startswith("circuit:"):
                ids = {"circuit_id": circuits_by_name[target.removeprefix("circuit:")]}
            elif target.startswith("edge:"):
                src, rest = target.removeprefix("edge:").split("->")
                dst, kind = rest.rsplit(":", 1)
                ids = {"edge_id": self.session.scalar(select(Edge.id).where(
                    Edge.src_feature_id == self.feature_id(src), Edge.dst_feature_id == self.feature_id(dst),
                    Edge.kind == kind))}
            else:
                ids = {"feature_id": self.feature_id(target)}
            (column, value), = ids.items()
            created = datetime.fromisoformat(row["created_at"])
            author = self.user_id(row["author"])
            duplicate = self.session.scalar(select(func.count(Evidence.id)).where(
                getattr(Evidence, column) == value, Evidence.kind == row["kind"], Evidence.body == row["body"],
                Evidence.author_id == author, Evidence.created_at == created))
            if duplicate:
                continue
            item = Evidence(kind=row["kind"], body=row["body"], blobs=row["blobs"], author_id=author,
                            created_at=created, **ids)
            self.session.add(item)
            self.session.flush()
            fulltext.sync_evidence(self.session, item, target, row["author"])
            self.report.added["evidence"] += 1


def _chunks(items: list, size: int = 500) -> list[list]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def import_bundle(session: Session, store: BlobStore, source: IO[bytes] | str, importer: User) -> ImportReport:
    """Verify the whole bundle first (nothing is written for a bad one), then merge it."""
    members = read_zip(source)
    try:
        return Importer(session, store, importer, members).run()
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"bundle content is malformed: {type(exc).__name__}: {exc}") from None
