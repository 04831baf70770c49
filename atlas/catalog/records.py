"""Plain records the catalogue returns.

Callers (app, CLI, notebooks) get frozen dataclasses, not ORM rows, so nothing they hold
is tied to a database session or can be written back by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from atlas.errors import InvalidInput
from atlas.jobs.records import JobInfo  # noqa: F401 - re-exported: what the job methods return
from atlas.vocabulary import WEIGHT_EDGE_KINDS


@dataclass(frozen=True)
class UserInfo:
    name: str
    role: str


@dataclass(frozen=True)
class ModelInfo:
    name: str
    architecture: str
    weights_sha256: str | None
    source: str | None
    input_spec: dict | None
    # Set for a model imported from a bundle: metadata only until an admin registers it here.
    origin: str | None = None

    @property
    def input_size(self) -> int:
        """Side of the square images the model takes (224 when the spec does not say)."""
        return int((self.input_spec or {}).get("shape", [3, 224, 224])[-1])

    def check_not_imported(self) -> None:
        """Refuse compute on a model imported from a bundle: it is inert metadata until an
        admin registers it here with local weights (checked when jobs are queued, and
        again by the worker that would load it)."""
        if self.origin is not None:
            raise InvalidInput(
                f"model {self.name!r} was imported ({self.origin}) and is not registered on this "
                f"catalogue: an admin registers it with `atlas model add {self.name} --arch ARCH "
                f"--weights FILE`"
            )


@dataclass(frozen=True)
class LayerInfo:
    model: str
    name: str
    kind: str
    channels: int
    spatial_shape: tuple[int, ...] | None
    order: int

    @property
    def address(self) -> str:
        return f"{self.model}/{self.name}"


@dataclass(frozen=True)
class LabelInfo:
    address: str
    version: int
    text: str
    status: str
    confidence: float | None
    author: str
    created_at: datetime
    reason: str | None = None
    # A review decision (accepted, rejected, disputed) by the author of the text it judges.
    self_review: bool = False


@dataclass(frozen=True)
class FeatureInfo:
    address: str
    kind: str
    model: str
    layer: str
    channel: int | None
    direction: str | None
    label: LabelInfo | None

    @property
    def label_version(self) -> int:
        """The version a label edit must be based on (0 when unlabelled)."""
        return self.label.version if self.label else 0


@dataclass(frozen=True)
class SignedEdge:
    """A connection, its two ends and its sign: what ``EdgeInfo`` and the graph's ``GraphEdge`` share.

    A weight edge's ``strength`` is its kernel's L2 norm, always positive; whether it
    excites or inhibits is its net mass, ``positive_mass - negative_mass`` (the sum of
    the kernel's entries). An attribution edge's strength is already the signed mean
    attribution, and its net mass is the same number. A curated edge with no stored
    weight has strength 0 and no masses: net 0, neither excitatory nor inhibitory.
    """

    src: str
    dst: str
    kind: str
    strength: float
    positive_mass: float | None
    negative_mass: float | None

    @property
    def net(self) -> float:
        """Excitatory (> 0) or inhibitory (< 0): the net mass when known, else the strength."""
        if self.positive_mass is not None and self.negative_mass is not None:
            return self.positive_mass - abs(self.negative_mass)
        return self.strength

    @property
    def figures(self) -> str:
        """The edge's numbers as a reader sees them: the signed net first, and a weight's
        norm after it (``net -1.41 · norm 0.487``); a single signed number where both
        are the same (attribution, or no masses stored)."""
        if self.kind in WEIGHT_EDGE_KINDS and self.positive_mass is not None and self.negative_mass is not None:
            return f"net {self.net:+.3g} · norm {self.strength:.3g}"
        return f"{self.net:+.3g}"


@dataclass(frozen=True)
class EdgeInfo(SignedEdge):
    """A stored edge: its ends and sign (``SignedEdge``), its rank among the destination's
    inputs, its kernel blob and row id."""

    rank: int | None
    kernel_sha256: str | None
    id: int | None = None


@dataclass(frozen=True)
class EvidenceInfo:
    id: int
    target: str
    kind: str
    body: str
    blobs: list[str]
    author: str
    created_at: datetime


@dataclass(frozen=True)
class ClaimInfo:
    id: int
    prediction: str
    experiment: dict | None
    status: str
    result: str | None


@dataclass(frozen=True)
class ClaimResultInfo:
    """One run of a claim's experiment (``result`` holds the numbers and what reproduces
    them; ``blobs`` its plot)."""

    id: int
    claim_id: int
    verdict: str
    result: dict
    blobs: list[str]
    job_id: int | None
    author: str
    created_at: datetime


class CircuitEdgeInfo(NamedTuple):
    """A curated circuit edge: its ends, the curator's note, and the sign it is said to
    have (``excitatory``/``inhibitory``; None where nobody stated one)."""

    src: str
    dst: str
    note: str | None
    sign: str | None = None


@dataclass(frozen=True)
class CircuitInfo:
    name: str
    description: str
    status: str
    author: str
    version: int
    nodes: list[tuple[str, str | None]] = field(default_factory=list)
    edges: list[CircuitEdgeInfo] = field(default_factory=list)
    claims: list[ClaimInfo] = field(default_factory=list)


@dataclass(frozen=True)
class FamilyInfo:
    """A family: its members all lie in one layer, ``layer`` (``model/layer``; None while empty)."""

    name: str
    description: str
    members: list[tuple[str, str | None]] = field(default_factory=list)
    layer: str | None = None


@dataclass(frozen=True)
class RelationInfo:
    """A relation (``atlas.catalog.relations``): ``src`` and ``dst`` are feature
    addresses, layer addresses (``model/layer``) or family names, as ``ends`` says. A
    measured one has a score and its stimuli; a published one (method ``published``) has
    its ``source`` and no score."""

    relation: str
    method: str
    ends: str  # "features", "layers" or "families"
    src: str
    dst: str
    score: float | None
    stimuli: dict
    details: dict | None = None
    job_id: int | None = None
    source: str | None = None

    @property
    def published(self) -> bool:
        """Stated by a source, not measured: no score to show."""
        return self.score is None


@dataclass(frozen=True)
class NewFamily:
    """A family to store (``Catalog.add_analogous_families``): its name, description and
    members, features of one model and layer."""

    name: str
    description: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class SearchHit:
    kind: str
    target: str
    text: str
    snippet: str = ""


@dataclass(frozen=True)
class AuditInfo:
    user: str
    action: str
    entity_type: str
    entity_id: str
    before: dict | None
    after: dict | None
    created_at: datetime
    # Set when an admin (``user``) acted for this user: the write is theirs.
    on_behalf_of: str | None = None

    @property
    def actor(self) -> str:
        """Who did it, as shown: ``alice``, or ``alice for cora`` when an admin acted for cora."""
        return f"{self.user} for {self.on_behalf_of}" if self.on_behalf_of else self.user


@dataclass(frozen=True)
class DirectPathInfo:
    """How channels ``[dst_start, dst_start + dst_count)`` of layer ``dst_layer`` are wired
    to channels ``[src_start, src_start + src_count)`` of ``src_layer`` (layer names of
    one model): ``kind`` is one of ``DIRECT_PATH_KINDS``; ``conv`` the convolution that
    writes those channels, named as the model names its output (``mixed3b_5x5``); ``route``
    what lies between: the pools of a pooled kernel (``max-pool 3x3/1``), the convs an
    indirect unit is reached through (``mixed3b_5x5_bottleneck``), empty for direct."""

    src_layer: str
    dst_layer: str
    dst_start: int
    dst_count: int
    src_start: int
    src_count: int
    kind: str
    conv: str
    route: str

    def covers(self, dst_channel: int, src_channel: int | None = None) -> bool:
        """Whether this path is the wiring of ``dst_channel`` (from ``src_channel``)."""
        return (self.dst_start <= dst_channel < self.dst_start + self.dst_count
                and (src_channel is None or self.src_start <= src_channel < self.src_start + self.src_count))


@dataclass(frozen=True)
class ShownConnections:
    """A unit's strongest inputs or outputs as a page shows them by default: direct weights,
    or expanded weights where the unit has none (``note`` says why), with the edges whose
    kernels are in pooled coordinates (``pooled``: edge id to the pools they pass)."""

    kind: str
    edges: list[EdgeInfo]
    note: str | None = None
    pooled: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetExample:
    """One dataset example: its crop's blob, and (when recorded) the dataset index, the
    unit's pre-activation value there and its position (y, x) in the layer's map."""

    crop: str
    index: int | None
    value: float | None
    position: tuple[int, int] | None


@dataclass(frozen=True)
class ActivationDistribution:
    """How one per-image statistic of a feature (its largest or its smallest pre-activation
    over positions) is spread over a dataset: equal bins (``edges``, one more than
    ``counts``), the number of images, mean, standard deviation, extremes, and
    ``(q, value)`` quantiles read from the bins (``atlas.catalog.histogram``)."""

    count: int
    edges: tuple[float, ...]
    counts: tuple[int, ...]
    mean: float
    std: float
    minimum: float
    maximum: float
    quantiles: tuple[tuple[float, float], ...]

    def bin_of(self, value: float) -> int:
        """The bin ``value`` falls in (bins are half-open, [a, b)), clamped to the bins there are."""
        inside = sum(1 for edge in self.edges[1:-1] if value >= edge)
        return min(inside, len(self.counts) - 1)


@dataclass(frozen=True)
class DatasetExamples:
    """One ``examples`` artifact: the images that excite the unit most (``top``) and
    inhibit it most (``bottom``), most extreme first, with the run's parameters, and (when
    the run recorded it) how the feature's per-image largest (``"max"``) and smallest
    (``"min"``) pre-activations are spread over the whole dataset."""

    address: str
    params: dict
    top: list[DatasetExample]
    bottom: list[DatasetExample]
    distributions: dict[str, ActivationDistribution] = field(default_factory=dict)
