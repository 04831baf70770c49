"""SQLAlchemy models of the whole data model.

One metadata for both dialects. JSON columns become JSONB on PostgreSQL. Constraint names
follow a naming convention so alembic's batch mode can rebuild SQLite tables. Timestamps
are set in Python (UTC), so both dialects store the same values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from atlas.vocabulary import (  # the check constraints name the one vocabulary
    CIRCUIT_EDGE_SIGNS,
    CIRCUIT_STATUSES,
    CLAIM_STATUSES,
    DIRECT_PATH_KINDS,
    EDGE_KINDS,
    EVIDENCE_KINDS,
    FEATURE_KINDS,
    JOB_STATUSES,
    LABEL_STATUSES,
    MAX_SOURCE_CHARS,
    PUBLISHED_METHOD,
    RELATIONS,
    ROLES,
    VERDICTS,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")



def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both dialects (SQLite returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _fk(target: str, nullable: bool = False, ondelete: str = "CASCADE") -> Any:
    return mapped_column(BigId, ForeignKey(target, ondelete=ondelete), nullable=nullable)


def _created() -> Any:
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = _created()


class Model(Base):
    __tablename__ = "models"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    architecture: Mapped[str] = mapped_column(String(200))
    weights_sha256: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text)
    input_spec: Mapped[dict | None] = mapped_column(JsonType)
    # Where an imported model came from (a bundle); None for a model registered on this
    # catalogue. An imported model is inert metadata: nothing is computed on it until an
    # admin registers it here with a local weights file (`atlas model add`).
    origin: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = _created()


class Layer(Base):
    __tablename__ = "layers"
    __table_args__ = (
        UniqueConstraint("model_id", "name"),
        CheckConstraint("channels > 0", name="channels_positive"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_id: Mapped[int] = _fk("models.id")
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    channels: Mapped[int] = mapped_column(Integer)
    spatial_shape: Mapped[list | None] = mapped_column(JsonType)
    order: Mapped[int] = mapped_column(Integer)


class Feature(Base):
    """A unit (one channel) or a direction (a vector in the layer's channel space)."""

    __tablename__ = "features"
    __table_args__ = (
        # Also the index behind "features of a layer" (leading column layer_id).
        UniqueConstraint("layer_id", "channel"),
        UniqueConstraint("layer_id", "name"),
        CheckConstraint(_in("kind", FEATURE_KINDS), name="kind"),
        CheckConstraint(
            "(kind = 'unit' AND channel IS NOT NULL AND channel >= 0) OR "
            "(kind = 'direction' AND channel IS NULL AND name IS NOT NULL "
            "AND vector_sha256 IS NOT NULL)",
            name="unit_or_direction",
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    layer_id: Mapped[int] = _fk("layers.id")
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(200))
    vector_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()


class Artifact(Base):
    """A computed thing about a feature; its images and arrays live in the blob store."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("feature_id", "kind", "params_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    feature_id: Mapped[int] = _fk("features.id")
    kind: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict] = mapped_column(JsonType)
    # Canonical hash of params: makes recomputation idempotent.
    params_key: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[int | None] = _fk("jobs.id", nullable=True, ondelete="SET NULL")
    blobs: Mapped[dict] = mapped_column(JsonType)
    # Figures about the result (a visualization's final activation, its image's contrast).
    outcome: Mapped[dict | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = _created()


class Edge(Base):
    __tablename__ = "edges"
    __table_args__ = (
        UniqueConstraint("src_feature_id", "dst_feature_id", "kind"),
        CheckConstraint(_in("kind", EDGE_KINDS), name="kind"),
        # Top inputs of X and top outputs of X are index range scans.
        Index("ix_edges_top_inputs", "dst_feature_id", "kind", "rank_in"),
        Index("ix_edges_top_outputs", "src_feature_id", "kind", "rank_out"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    src_feature_id: Mapped[int] = _fk("features.id")
    dst_feature_id: Mapped[int] = _fk("features.id")
    kind: Mapped[str] = mapped_column(String(20))
    strength: Mapped[float] = mapped_column(Float)
    positive_mass: Mapped[float | None] = mapped_column(Float)
    negative_mass: Mapped[float | None] = mapped_column(Float)
    rank_in: Mapped[int | None] = mapped_column(Integer)
    rank_out: Mapped[int | None] = mapped_column(Integer)
    kernel_sha256: Mapped[str | None] = mapped_column(String(64))


class DirectPath(Base):
    """How a slice of a layer's channels is wired to a slice of the layer before: read
    directly, through a pool, or only through other convs (no direct weights). Written
    with a layer pair's direct edges (``atlas.compute.connections.direct``)."""

    __tablename__ = "direct_paths"
    __table_args__ = (
        CheckConstraint(_in("kind", DIRECT_PATH_KINDS), name="kind"),
        Index("ix_direct_paths_dst_layer_id", "dst_layer_id"),
        Index("ix_direct_paths_src_layer_id", "src_layer_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    src_layer_id: Mapped[int] = _fk("layers.id")
    dst_layer_id: Mapped[int] = _fk("layers.id")
    dst_start: Mapped[int] = mapped_column(Integer)
    dst_count: Mapped[int] = mapped_column(Integer)
    src_start: Mapped[int] = mapped_column(Integer)
    src_count: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    conv: Mapped[str] = mapped_column(String(200))
    route: Mapped[str] = mapped_column(Text)


class Label(Base):
    """Append-only label versions: the current label is the row with the highest version."""

    __tablename__ = "labels"
    __table_args__ = (
        # The unique index doubles as the "current label of a feature" index, and makes
        # two writers of the same next version collide instead of losing an update.
        UniqueConstraint("feature_id", "version"),
        CheckConstraint(_in("status", LABEL_STATUSES), name="status"),
        CheckConstraint(
            "confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name="confidence"
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_labels_status", "status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    feature_id: Mapped[int] = _fk("features.id")
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int] = _fk("users.id", ondelete="RESTRICT")
    # A reviewer deciding on a label text they wrote themselves: kept and shown as such.
    self_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = _created()


class Circuit(Base):
    __tablename__ = "circuits"
    __table_args__ = (CheckConstraint(_in("status", CIRCUIT_STATUSES), name="status"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[int] = _fk("users.id", ondelete="RESTRICT")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class CircuitNode(Base):
    __tablename__ = "circuit_nodes"
    __table_args__ = (UniqueConstraint("circuit_id", "feature_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circuit_id: Mapped[int] = _fk("circuits.id")
    feature_id: Mapped[int] = _fk("features.id")
    role: Mapped[str | None] = mapped_column(Text)


class CircuitEdge(Base):
    """A curated edge of a circuit. ``sign`` is what the curator (or the source) says the
    connection does, excitatory or inhibitory; None where nobody stated it. The measured
    sign is the stored weight edge's net mass (``edge_id``), kept apart from this claim."""

    __tablename__ = "circuit_edges"
    __table_args__ = (
        UniqueConstraint("circuit_id", "src_feature_id", "dst_feature_id"),
        CheckConstraint(_in("sign", CIRCUIT_EDGE_SIGNS), name="sign"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circuit_id: Mapped[int] = _fk("circuits.id")
    src_feature_id: Mapped[int] = _fk("features.id")
    dst_feature_id: Mapped[int] = _fk("features.id")
    edge_id: Mapped[int | None] = _fk("edges.id", nullable=True, ondelete="SET NULL")
    note: Mapped[str | None] = mapped_column(Text)
    sign: Mapped[str | None] = mapped_column(String(12))


class CircuitClaim(Base):
    """A falsifiable prediction about a circuit, with an optional experiment spec."""

    __tablename__ = "circuit_claims"
    __table_args__ = (CheckConstraint(_in("status", CLAIM_STATUSES), name="status"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circuit_id: Mapped[int] = _fk("circuits.id")
    prediction: Mapped[str] = mapped_column(Text)
    experiment: Mapped[dict | None] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(20))
    result: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int] = _fk("users.id", ondelete="RESTRICT")
    created_at: Mapped[datetime] = _created()


class ClaimResult(Base):
    """One run of a claim's experiment: its verdict, the numbers and everything to
    reproduce it (``result``), and its plot (``blobs``). Rows are only added: the history
    of runs; the claim's status is its latest verdict."""

    __tablename__ = "claim_results"
    __table_args__ = (
        CheckConstraint(_in("verdict", VERDICTS), name="verdict"),
        Index("ix_claim_results_claim_id", "claim_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = _fk("circuit_claims.id")
    verdict: Mapped[str] = mapped_column(String(20))
    result: Mapped[dict] = mapped_column(JsonType)
    blobs: Mapped[list] = mapped_column(JsonType)
    job_id: Mapped[int | None] = _fk("jobs.id", nullable=True, ondelete="SET NULL")
    author_id: Mapped[int] = _fk("users.id", ondelete="RESTRICT")
    created_at: Mapped[datetime] = _created()


class Evidence(Base):
    """Evidence attached to exactly one of a feature, an edge or a circuit."""

    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint(_in("kind", EVIDENCE_KINDS), name="kind"),
        CheckConstraint(
            "(CASE WHEN feature_id IS NULL THEN 0 ELSE 1 END) + "
            "(CASE WHEN edge_id IS NULL THEN 0 ELSE 1 END) + "
            "(CASE WHEN circuit_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_target",
        ),
        Index("ix_evidence_feature_id", "feature_id"),
        Index("ix_evidence_circuit_id", "circuit_id"),
        Index("ix_evidence_edge_id", "edge_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    feature_id: Mapped[int | None] = _fk("features.id", nullable=True)
    edge_id: Mapped[int | None] = _fk("edges.id", nullable=True)
    circuit_id: Mapped[int | None] = _fk("circuits.id", nullable=True)
    kind: Mapped[str] = mapped_column(String(30))
    body: Mapped[str] = mapped_column(Text, default="")
    blobs: Mapped[list] = mapped_column(JsonType)
    author_id: Mapped[int] = _fk("users.id", ondelete="RESTRICT")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created()


class Family(Base):
    """A group of analogous features within one layer of one model ("curve detectors of
    mixed3b"); the catalogue refuses a member from another layer (atlas.catalog.families)."""

    __tablename__ = "families"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created()


class FamilyMember(Base):
    __tablename__ = "family_members"
    __table_args__ = (
        UniqueConstraint("family_id", "feature_id"),
        Index("ix_family_members_feature_id", "feature_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    family_id: Mapped[int] = _fk("families.id")
    feature_id: Mapped[int] = _fk("features.id")
    note: Mapped[str | None] = mapped_column(Text)


class Relation(Base):
    """A relation between two things of (usually) two models: features that are analogous
    (their activations correlate), layers that are similar (CKA), families related to
    families. Exactly one kind of end is set in pairs: features (with their layers, so a
    layer pair's matches are one index scan), layers alone, or families. A measured
    relation has a score, ``stimuli`` (what it was measured on) and ``stimuli_key`` (its
    hash); a ``published`` one (a source states it) has its ``source`` URL, no score and
    empty stimuli."""

    __tablename__ = "relations"
    __table_args__ = (
        CheckConstraint(_in("relation", RELATIONS), name="relation"),
        CheckConstraint(
            "(src_feature_id IS NULL) = (dst_feature_id IS NULL) AND "
            "(src_layer_id IS NULL) = (dst_layer_id IS NULL) AND "
            "(src_family_id IS NULL) = (dst_family_id IS NULL) AND "
            "(src_feature_id IS NULL OR src_layer_id IS NOT NULL) AND "
            "((src_layer_id IS NULL) <> (src_family_id IS NULL))",
            name="ends",
        ),
        CheckConstraint(f"(score IS NULL) = (method = '{PUBLISHED_METHOD}')", name="score"),
        CheckConstraint(f"(source IS NULL) = (method <> '{PUBLISHED_METHOD}')", name="source"),
        Index("ix_relations_layers", "src_layer_id", "dst_layer_id", "relation", "method"),
        Index("ix_relations_src_feature_id", "src_feature_id"),
        Index("ix_relations_dst_feature_id", "dst_feature_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    relation: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(60))
    src_layer_id: Mapped[int | None] = _fk("layers.id", nullable=True)
    dst_layer_id: Mapped[int | None] = _fk("layers.id", nullable=True)
    src_feature_id: Mapped[int | None] = _fk("features.id", nullable=True)
    dst_feature_id: Mapped[int | None] = _fk("features.id", nullable=True)
    src_family_id: Mapped[int | None] = _fk("families.id", nullable=True)
    dst_family_id: Mapped[int | None] = _fk("families.id", nullable=True)
    score: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(MAX_SOURCE_CHARS))
    stimuli: Mapped[dict] = mapped_column(JsonType)
    stimuli_key: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict | None] = mapped_column(JsonType)
    job_id: Mapped[int | None] = _fk("jobs.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = _created()


class Setting(Base):
    """Catalogue-wide settings by key, e.g. the identity of the blob store it belongs to."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AuditEntry(Base):
    """Who changed what curated data, with the state before and after. Append-only in the
    database itself (triggers refuse UPDATE and DELETE; migration 0004)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_created_at", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(100))
    # An admin acting for another user: user_name is the admin, this is the other user.
    on_behalf_of: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(300))
    before: Mapped[dict | None] = mapped_column(JsonType)
    after: Mapped[dict | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = _created()


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        UniqueConstraint("dedupe_key"),
        Index("ix_jobs_claim", "status", "priority", "run_after"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    dedupe_key: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_after: Mapped[datetime] = _created()
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    progress_message: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobDependency(Base):
    """Job ``job_id`` waits (status ``waiting``) until job ``needs_job_id`` is done: a step
    that needs the results of many chunk jobs, such as ranking a layer pair's connections."""

    __tablename__ = "job_dependencies"
    __table_args__ = (Index("ix_job_dependencies_needs_job_id", "needs_job_id"),)
    job_id: Mapped[int] = mapped_column(BigId, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    needs_job_id: Mapped[int] = mapped_column(BigId, ForeignKey("jobs.id", ondelete="CASCADE"),
                                              primary_key=True)


class Dataset(Base):
    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    location: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    spec: Mapped[dict | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = _created()


class SearchDoc(Base):
    """One searchable text per curated thing (a feature's current label, a note, a circuit,
    a claim, a family), kept in sync by the catalogue on every write.

    The full-text index over it is dialect-specific and lives outside this model: an FTS5
    table ``search_fts`` with triggers on SQLite, a generated ``tsv`` column with a GIN
    index on PostgreSQL (see migration 0002 and atlas.catalog.fulltext).
    """

    __tablename__ = "search_docs"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id"),
        Index("ix_search_docs_feature_id", "feature_id"),
        # The ranking's stored keys, in rank order: a band of hits is read in this order
        # and the walk stops when a page is full (atlas.catalog.search).
        Index("ix_search_docs_rank", "standing", "known", "title_words", "body_words", "kind", "target"),
        Index("ix_search_docs_title_key", "title_key", "standing"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[int] = mapped_column(BigInteger)
    feature_id: Mapped[int | None] = _fk("features.id", nullable=True)
    target: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str | None] = mapped_column(String(20))
    author: Mapped[str | None] = mapped_column(String(100))
    # Query-independent ranking keys, written with the text (atlas.catalog.fulltext):
    # standing (0 accepted label, 1 proposed label/family/circuit, 2 note/claim, 3 disputed
    # label, 4 the rest), known (0: its feature has evidence or is in a circuit), the title
    # as words (lower case, without the words a query drops; byte order on PostgreSQL too,
    # so "starts with" is a range), and the lengths.
    standing: Mapped[int] = mapped_column(SmallInteger, default=4, server_default="4")
    known: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    title_key: Mapped[str] = mapped_column(Text().with_variant(Text(collation="C"), "postgresql"),
                                           default="", server_default="")
    title_words: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    body_words: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
