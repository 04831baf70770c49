"""Importing a bundle: merge another catalogue into this one, in one transaction.

Things are matched by content, not ids: a model by name (and weights), a label version by
(text, status, author, time), evidence by all of its fields, an edge by (src, dst, kind).
What is new is added; what is already here is left alone; where the two catalogues
disagree (a circuit's description, an edge's strength, diverged label histories) ours is
kept, or both are kept in history, and the disagreement is reported.

Every row passes the very checks the API applies (``labels.validate``,
``evidence.validate``, ``circuits.check``, ...); the first row that fails refuses the
whole bundle with one line naming the member and the row. Authors keep their provenance:
``cora@lab-b`` stays ``cora@lab-b`` (a name without a domain gets the bundle's origin),
and only names of our own origin are our local users. Authors unknown here are added as
viewers: an import never grants anyone the right to write.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import func, insert, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from atlas.address import FeatureAddress, as_feature, as_layer, check_name, check_user_name, parse_feature
from atlas.catalog import artifacts, audit, circuits, edge_store, evidence, families, fulltext, labels, relations
from atlas.catalog.layers import insert_layer
from atlas.catalog.resolve import get_feature, get_layer
from atlas.compute.input_spec import check_input_spec
from atlas.db.blobs import SHA256_RE, BlobStore, blob_names
from atlas.db.models import (
    Artifact,
    Circuit,
    CircuitClaim,
    Edge,
    Evidence,
    Family,
    Feature,
    Label,
    Model,
    User,
    utcnow,
)
from atlas.errors import AtlasError, InvalidInput
from atlas.exchange.bundle.format import BundleError, StagedBundle, table_member
from atlas.exchange.bundle.write import catalogue_origin, stamp


@dataclass
class ImportReport:
    added: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    conflicts: list[str] = field(default_factory=list)

    def summary(self) -> str:
        added = ", ".join(f"{n} {t}" for t, n in sorted(self.added.items()) if n) or "nothing new"
        return f"added {added}; {len(self.conflicts)} conflicts"


# Types of row fields, for _typed.
NUMBER = (int, float)
OPTIONAL_NUMBER = (int, float, type(None))
OPTIONAL_INT = (int, type(None))


@contextmanager
def _row(table: str, number: int) -> Iterator[None]:
    """Any problem with one row as one line naming the member and the row."""
    try:
        yield
    except BundleError:
        raise
    except KeyError as exc:
        raise BundleError(f"bundle refused: {table_member(table)} row {number}: "
                          f"missing field {exc.args[0]!r}") from None
    except AtlasError as exc:
        raise BundleError(f"bundle refused: {table_member(table)} row {number}: {exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"bundle refused: {table_member(table)} row {number}: malformed "
                          f"({type(exc).__name__}: {exc})") from None


def _typed(row: dict, **kinds: type | tuple[type, ...]) -> None:
    """Fields the importer relies on structurally (sorting, keys) must have their type."""
    for key, kind in kinds.items():
        value = row[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise InvalidInput(f"{key} has the wrong type: {value!r:.60}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(f"{key} must be a finite number, got {value!r}")


class Importer:
    def __init__(self, session: Session, store: BlobStore, importer: User, bundle: StagedBundle):
        self.session, self.store, self.importer, self.bundle = session, store, importer, bundle
        self.report = ImportReport()
        self.users = dict(session.execute(select(User.name, User.id)).tuples().all())
        self.layer_features: dict[tuple[str, str], dict[str, int]] = {}
        self.origin = catalogue_origin(session)

    def table(self, name: str) -> list[dict]:
        return [row for _number, row in self.bundle.records(name)]

    def rows(self, name: str) -> list[tuple[int, dict]]:
        return self.bundle.records(name)

    def author(self, name: str) -> str:
        """The user a bundle's author is here: ``cora@lab-b`` as such, ``cora`` (from a
        bundle of lab-b) as ``cora@lab-b``; our own origin's names are our local users."""
        name = check_user_name(name if isinstance(name, str) and "@" in name else f"{name}@{self.bundle.origin}")
        local, _, origin = name.partition("@")
        return local if origin == self.origin and name not in self.users else name

    def has_blob(self, sha: str) -> bool:
        return sha in self.bundle.blobs or self.store.exists(sha)

    def check_blobs(self, value: object) -> None:
        for sha in blob_names(value):
            if not SHA256_RE.match(sha) or not self.has_blob(sha):
                raise InvalidInput(f"refers to blob {sha!r:.80}, which is neither in the bundle nor in the blob store")

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
                    select(Feature.id, Feature.kind, Feature.channel, Feature.name)
                    .where(Feature.layer_id == layer_row.id))
            }
        features = self.layer_features[(model, layer)]
        return features[last] if last in features else get_feature(self.session, address)[0].id

    def run(self) -> ImportReport:
        self.models()
        self.directions()
        self.labels()
        self.edges()
        self.artifacts()
        self.circuits()
        self.families()
        self.relations()
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
        for number, layer in self.rows("layers"):
            with _row("layers", number):
                _typed(layer, model=str, order=int)
                layers[layer["model"]].append((number, layer))
        origin = f"bundle from {self.bundle.origin}, imported by {self.importer.name} on {utcnow():%Y-%m-%d}"
        for number, row in self.rows("models"):
            with _row("models", number):
                self.model(row, layers[row["name"]], origin)

    def model(self, row: dict, layers: list[tuple[int, dict]], origin: str) -> None:
        """One model row: added with its layers if it is new here, else it must be ours."""
        existing = self.session.scalar(select(Model).where(Model.name == check_name(row["name"], "model")))
        if existing is None:
            if not isinstance(row["architecture"], str) or len(row["architecture"]) > 200:
                raise InvalidInput(f"model {row['name']!r} has an invalid architecture")
            try:  # inert, but read by pages and queueing (its input size): well formed or refused
                check_input_spec(row["input_spec"])
            except InvalidInput as e:
                raise InvalidInput(f"model {row['name']!r} has an invalid input spec: {e}") from None
            model = Model(**{k: row[k] for k in ("name", "architecture", "weights_sha256", "input_spec")},
                          source=None, origin=origin)
            self.session.add(model)
            self.session.flush()
            for number, layer in sorted(layers, key=lambda numbered: numbered[1]["order"]):
                with _row("layers", number):
                    insert_layer(self.session, model, layer["name"], layer["kind"], layer["channels"],
                                 layer["spatial_shape"], layer["order"])
            self.report.added["models"] += 1
            return
        if (existing.architecture, existing.weights_sha256) != (row["architecture"], row["weights_sha256"]):
            raise BundleError(f"model {row['name']!r} exists here with other weights or architecture: "
                              "rename one of them before merging")
        for number, layer in layers:
            with _row("layers", number):
                here = get_layer(self.session, f"{row['name']}/{layer['name']}")[0]
                if here.channels != layer["channels"]:
                    raise BundleError(f"layer {row['name']}/{layer['name']} has {here.channels} channels here, "
                                      f"{layer['channels']} in the bundle")

    def directions(self) -> None:
        for number, row in self.rows("directions"):
            with _row("directions", number):
                address = parse_feature(row["address"])
                if address.direction is None:
                    raise InvalidInput(f"{row['address']!r} is not a direction's address")
                self.check_blobs(row["vector_sha256"])
                layer_row = get_layer(self.session, str(address.layer_address))[0]
                here = self.session.scalar(select(Feature).where(Feature.layer_id == layer_row.id,
                                                                 Feature.name == address.direction))
                if here is None:
                    self.session.add(Feature(layer_id=layer_row.id, kind="direction", name=address.direction,
                                             vector_sha256=row["vector_sha256"]))
                    self.report.added["directions"] += 1
                elif here.vector_sha256 != row["vector_sha256"]:
                    self.report.conflicts.append(f"{row['address']}: a different vector here; kept ours")
        self.session.flush()

    def labels(self) -> None:
        """Merge label histories: versions new to us are appended in time order, in bulk."""
        incoming, ids = defaultdict(list), {}
        for number, row in self.rows("labels"):
            with _row("labels", number):
                _typed(row, address=str, version=int, created_at=str)
                row["text"] = labels.validate(row["text"], row["status"], row["confidence"], row["reason"])
                row["author"] = self.author(row["author"])
                datetime.fromisoformat(row["created_at"])
                ids[row["address"]] = self.feature_id(row["address"])
                incoming[row["address"]].append(row)
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
        rows, ids = [], {}
        for number, row in self.rows("edges"):
            with _row("edges", number):
                _typed(row, src=str, dst=str, strength=NUMBER, positive_mass=OPTIONAL_NUMBER,
                       negative_mass=OPTIONAL_NUMBER, rank_in=OPTIONAL_INT, rank_out=OPTIONAL_INT)
                edge_store.check_kind(row["kind"])
                if row["kernel_sha256"] is not None:
                    self.check_blobs(row["kernel_sha256"])
                ids.update({row["src"]: self.feature_id(row["src"]), row["dst"]: self.feature_id(row["dst"])})
                rows.append(row)
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
        rows, ids = [], {}
        for number, row in self.rows("artifacts"):
            with _row("artifacts", number):
                _typed(row, address=str, params=dict, blobs=dict)
                artifacts.check_kind(row["kind"])
                artifacts.params_key(row["params"])
                artifacts.check_outcome(row.get("outcome"))
                self.check_blobs(row["blobs"])
                ids[row["address"]] = self.feature_id(row["address"])
                rows.append(row)
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
                              "params_key": key[2], "blobs": row["blobs"], "outcome": row.get("outcome"),
                              "created_at": utcnow()})
        for chunk in _chunks(fresh, 5000):
            self.session.execute(insert(Artifact), chunk)
        self.report.added["artifacts"] += len(fresh)

    def circuits(self) -> None:
        for number, row in self.rows("circuits"):
            with _row("circuits", number):
                self.circuit(row)

    def circuit(self, row: dict) -> None:
        circuits.check(row["name"], row["description"], row["status"])
        author = self.author(row["author"])
        circuit = self.session.scalar(select(Circuit).where(Circuit.name == row["name"]))
        if circuit is None:
            circuit = Circuit(name=row["name"], description=row["description"], status=row["status"],
                              author_id=self.user_id(author), created_at=datetime.fromisoformat(row["created_at"]))
            self.session.add(circuit)
            self.session.flush()
            fulltext.sync_circuit(self.session, circuit, author)
            self.report.added["circuits"] += 1
        elif (circuit.description, circuit.status) != (row["description"], row["status"]):
            self.report.conflicts.append(f"circuit {row['name']}: description or status differ; kept ours")
        for address, role in row["nodes"]:
            circuits.add_node(self.session, circuit, as_feature(address), role, self.importer)
        for edge in row["edges"]:
            # [src, dst, note, sign]; bundles written before edges carried a sign have three.
            src, dst, note, sign = edge if len(edge) == 4 else (*edge, None)
            circuits.add_edge(self.session, circuit, as_feature(src), as_feature(dst), note, self.importer, sign)
        known = set(self.session.scalars(select(CircuitClaim.prediction).where(CircuitClaim.circuit_id == circuit.id)))
        for claim in row["claims"]:
            prediction = circuits.check_prediction(claim["prediction"])
            circuits.check_claim_status(claim["status"], claim["result"])
            _typed(claim, experiment=(dict, type(None)))
            circuits.check_claim_experiment(claim["experiment"])
            claim_author = self.author(claim["author"])
            if prediction in known:
                continue
            added = CircuitClaim(circuit_id=circuit.id, prediction=prediction, experiment=claim["experiment"],
                                 status=claim["status"], result=claim["result"],
                                 author_id=self.user_id(claim_author),
                                 created_at=datetime.fromisoformat(claim["created_at"]))
            self.session.add(added)
            self.session.flush()
            fulltext.sync_claim(self.session, added, circuit.name, claim_author)
            self.report.added["claims"] += 1

    def families(self) -> None:
        for number, row in self.rows("families"):
            with _row("families", number):
                name = families.check(row["name"], row["description"])
                family = self.session.scalar(select(Family).where(Family.name == name))
                if family is None:
                    family = families.create(self.session, name, row["description"], self.importer)
                    self.report.added["families"] += 1
                elif family.description != row["description"]:
                    self.report.conflicts.append(f"family {name}: descriptions differ; kept ours")
                for address, note in row["members"]:
                    self.report.added["family members"] += families.add_member(
                        self.session, family, as_feature(address), note, self.importer)

    def relations(self) -> None:
        """Relations by their ends' addresses or names, checked as the API checks them.
        A layer pair's relations of one method over one stimulus set are stored together
        (``relations.put_pair``), or kept as they are here when this catalogue has them
        (reported if they differ); a family relation is stored unless it is here."""
        pairs: dict[tuple, tuple[int, dict, dict | None, list]] = {}
        family_rows, seen = [], set()
        for number, row in self.rows("relations"):
            with _row("relations", number):
                _typed(row, relation=str, method=str, ends=str, src=str, dst=str)
                relations.check_kind(row["relation"], row["method"], row["ends"])
                score = relations.check_score(row["method"], row["score"])
                source = relations.check_source(row["method"], row["source"])
                stimuli = relations.check_record(row["stimuli"], "stimuli")
                details = relations.check_record(row["details"], "details", optional=True)
                self.check_blobs(sorted(relations.detail_blobs(details)))
                stimuli_key = artifacts.params_key(stimuli)
                if row["ends"] == "families":
                    src, dst = families.get(self.session, row["src"]), families.get(self.session, row["dst"])
                    key: tuple = (row["relation"], row["method"], stimuli_key, src.name, dst.name, source)
                    family_rows.append((number, row, src, dst, score, stimuli, details, source))
                else:
                    ends = (parse_feature(row["src"]), parse_feature(row["dst"])) if row["ends"] == "features" \
                        else (as_layer(row["src"]), as_layer(row["dst"]))
                    layers = [str(end.layer_address if isinstance(end, FeatureAddress) else end) for end in ends]
                    for end in ends:  # present here or in the bundle: one line naming the missing part
                        if isinstance(end, FeatureAddress):
                            self.feature_id(str(end))
                        else:
                            get_layer(self.session, end)
                    pair = (row["relation"], row["method"], stimuli_key, *layers)
                    group = pairs.setdefault(pair, (number, stimuli, details, []))
                    if group[2] != details:
                        raise InvalidInput(f"the relations {layers[0]} -> {layers[1]} by {row['method']} over one "
                                           "stimulus set differ in their details (one measurement has one)")
                    group[3].append((_target(ends[0]), _target(ends[1]), score))
                    key = (*pair, str(ends[0]), str(ends[1]))
                if key in seen:
                    raise InvalidInput(f"duplicate relation {row['src']} -> {row['dst']} ({row['relation']}, "
                                       f"{row['method']}, the same stimuli)")
                seen.add(key)
        for (relation, method, _key, src_layer, dst_layer), (number, stimuli, details, rows) in pairs.items():
            with _row("relations", number):  # a pair's first row
                added = relations.put_pair(self.session, relation, method, stimuli, as_layer(src_layer),
                                           as_layer(dst_layer), rows, details)
            if not added and self._differs(relation, method, stimuli, src_layer, dst_layer, rows):
                self.report.conflicts.append(f"relations {src_layer} -> {dst_layer} ({relation}, {method}): "
                                             "other results here over the same stimuli; kept ours")
            self.report.added["relations"] += added
        for number, row, src, dst, score, stimuli, details, source in family_rows:
            with _row("relations", number):
                self.report.added["relations"] += relations.put_family_relation(
                    self.session, row["relation"], row["method"], src, dst, score, stimuli, details, source)

    def _differs(self, relation: str, method: str, stimuli: dict, src: str, dst: str, rows: list) -> bool:
        """Whether this catalogue's relations of a layer pair differ from a bundle's rows."""
        ours = relations.between(self.session, as_layer(src), as_layer(dst), relation, method, stimuli)
        theirs = {(None if s is None else str(as_layer(src).target(s)), None if d is None else
                   str(as_layer(dst).target(d)), score) for s, d, score in rows}
        here = {(r.src, r.dst, r.score) if r.ends == "features" else (None, None, r.score) for r in ours}
        return here != theirs

    def evidence(self) -> None:
        circuits_by_name = dict(self.session.execute(select(Circuit.name, Circuit.id)).tuples().all())
        for number, row in self.rows("evidence"):
            with _row("evidence", number):
                self.evidence_row(row, circuits_by_name)

    def evidence_row(self, row: dict, circuits_by_name: dict[str, int]) -> None:
        body = evidence.validate(row["kind"], row["body"], row["blobs"], self.has_blob)
        author = self.author(row["author"])
        target = row["target"]
        _typed(row, target=str)
        if target.startswith("circuit:"):
            value = circuits_by_name.get(target.removeprefix("circuit:"))
            column = "circuit_id"
        elif target.startswith("edge:"):
            src, rest = target.removeprefix("edge:").split("->")
            dst, kind = rest.rsplit(":", 1)
            value = self.session.scalar(select(Edge.id).where(
                Edge.src_feature_id == self.feature_id(src), Edge.dst_feature_id == self.feature_id(dst),
                Edge.kind == kind))
            column = "edge_id"
        else:
            value, column = self.feature_id(target), "feature_id"
        if value is None:
            raise InvalidInput(f"evidence target {target!r} is neither here nor in the bundle")
        created = datetime.fromisoformat(row["created_at"])
        author_id = self.user_id(author)
        duplicate = self.session.scalar(select(func.count(Evidence.id)).where(
            getattr(Evidence, column) == value, Evidence.kind == row["kind"], Evidence.body == body,
            Evidence.author_id == author_id, Evidence.created_at == created))
        if duplicate:
            return
        item = Evidence(kind=row["kind"], body=body, blobs=row["blobs"], author_id=author_id,
                        created_at=created, **{column: value})
        self.session.add(item)
        self.session.flush()
        fulltext.sync_evidence(self.session, item, target, author)
        self.report.added["evidence"] += 1


def _target(end: object) -> int | str | None:
    """A relation's end as ``relations.put_pair`` takes it: a unit's channel, a direction's
    name, or None for a layer itself."""
    if isinstance(end, FeatureAddress):
        return end.channel if end.direction is None else end.direction
    return None


def _chunks(items: list, size: int = 500) -> list[list]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def referenced_blobs(bundle: StagedBundle) -> set[str]:
    """Every blob the bundle's rows refer to (the only blobs an import stores)."""
    refs: set[str] = set()
    for table, fields in (("directions", ("vector_sha256",)), ("edges", ("kernel_sha256",)),
                          ("artifacts", ("blobs",)), ("evidence", ("blobs",))):
        for _number, row in bundle.records(table):
            refs |= set().union(*(blob_names(row.get(name)) for name in fields))
    for _number, row in bundle.records("relations"):
        refs |= relations.detail_blobs(row.get("details"))
    return refs


def stage_bundle(source: IO[bytes] | str, folder: Path) -> StagedBundle:
    """Check and stage a bundle in ``folder``: its tables, then the blobs its rows refer to.
    Nothing is written anywhere else; a bad bundle is a BundleError."""
    bundle = StagedBundle(source, folder)
    try:
        bundle.stage_blobs(referenced_blobs(bundle))
    except BaseException:
        bundle.__exit__()
        raise
    return bundle


def import_bundle(session: Session, store: BlobStore, bundle: StagedBundle, importer: User) -> ImportReport:
    """Merge a staged bundle in the caller's transaction (which a BundleError rolls back);
    the caller moves ``bundle.blobs`` into the store once it has committed.

    Every row is checked in ``_row``, which turns a missing field or a value of the wrong
    shape into a refusal naming it. What the database still rejects (two copies of one
    edge, each a valid row) refuses the bundle here."""
    try:
        return Importer(session, store, importer, bundle).run()
    except (IntegrityError, DataError) as exc:
        reason = (str(exc.orig).strip() or type(exc.orig).__name__).splitlines()[0]
        raise BundleError(f"bundle refused: the database rejected a row: {reason}") from None
