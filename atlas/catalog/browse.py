"""Read models for browsing: a layer's units with labels and thumbnails, the review
queue, catalogue figures. Each is a few queries whatever the layer size, so a grid of 800+
units pages quickly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from atlas.address import FeatureAddress, LayerAddress, feature_address
from atlas.bounds import MAX_INT32, check_int, check_limit
from atlas.catalog.artifacts import no_response
from atlas.catalog.current import current_versions, is_current, is_latest
from atlas.catalog.records import LabelInfo
from atlas.catalog.resolve import get_feature, get_layer
from atlas.db.models import (
    Artifact,
    Circuit,
    CircuitNode,
    Edge,
    Evidence,
    Family,
    FamilyMember,
    Feature,
    Label,
    Layer,
    Model,
    User,
)
from atlas.errors import InvalidInput
from atlas.vocabulary import LABEL_STATUSES, THUMBNAIL_ARTIFACT

LABEL_FILTERS = ("all", "labelled", "unlabelled")
MAX_PAGE = 1000  # units on one page of a layer


@dataclass(frozen=True)
class UnitCard:
    """What a grid cell shows: the unit, its current label and its channel visualization."""

    address: str
    channel: int | None
    label: LabelInfo | None
    thumbnail: str | None
    flag: str | None = None  # why the visualization is no picture of the unit ("no response (…)")


@dataclass(frozen=True)
class LayerPage:
    cards: list[UnitCard]
    total: int  # units matching the filters, over all pages


def layer_page(
    session: Session, layer: LayerAddress, offset: int = 0, limit: int = 64, labelled: str = "all",
    status: str | None = None, family: str | None = None,
) -> LayerPage:
    if labelled not in LABEL_FILTERS:
        raise InvalidInput(f"labelled must be one of {', '.join(LABEL_FILTERS)}")
    check_limit(limit, "limit", MAX_PAGE)
    check_int(offset, "offset", 0, MAX_INT32)
    layer_row, model = get_layer(session, layer)
    # This layer's current labels only: the labels of the whole catalogue (a million in a
    # lab's shared one) are never read for one page.
    current = (
        select(Label, User.name.label("author"))
        .join(User, User.id == Label.author_id)
        .where(Label.feature_id.in_(select(Feature.id).where(Feature.layer_id == layer_row.id)), is_latest())
        .subquery()
    )
    query = (
        select(Feature.id, Feature.channel, Feature.name, Feature.kind, current)
        .outerjoin(current, current.c.feature_id == Feature.id)
        .where(Feature.layer_id == layer_row.id)
    )
    if labelled == "labelled":
        query = query.where(current.c.id.is_not(None))
    elif labelled == "unlabelled":
        query = query.where(current.c.id.is_(None))
    if status is not None:
        query = query.where(current.c.status == status)
    if family is not None:
        query = query.where(exists().where(
            FamilyMember.feature_id == Feature.id, FamilyMember.family_id == Family.id, Family.name == family))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(Feature.kind.desc(), Feature.channel, Feature.name).offset(offset).limit(limit)
    ).mappings().all()
    # The newest channel visualization of each unit (a re-render with other settings is a
    # newer version of the same picture), with the figures that flag a failed one.
    thumbs = {feature_id: (blobs, outcome) for feature_id, blobs, outcome in session.execute(
        select(Artifact.feature_id, Artifact.blobs, Artifact.outcome)
        .where(Artifact.feature_id.in_([r["id"] for r in rows]), Artifact.kind == THUMBNAIL_ARTIFACT)
        .order_by(Artifact.id)
    ).tuples()}
    cards = []
    for row in rows:
        address = str(feature_address(model.name, layer_row.name, row["kind"], row["channel"], row["name"]))
        label = None
        if row["version"] is not None:
            label = LabelInfo(address, row["version"], row["text"], row["status"], row["confidence"],
                              row["author"], row["created_at"], row["reason"], row["self_review"])
        blobs, outcome = thumbs.get(row["id"], ({}, None))
        cards.append(UnitCard(address, row["channel"], label, blobs.get("image"),
                              no_response(THUMBNAIL_ARTIFACT, outcome)))
    return LayerPage(cards, total)


@dataclass(frozen=True)
class ReviewFilters:
    """Which waiting labels a reviewer wants to see: statuses, a model (and a layer of it),
    an author, an age window on when the current version was written, and the order."""

    statuses: tuple[str, ...] = ("proposed", "disputed")
    model: str | None = None
    layer: str | None = None
    author: str | None = None
    written_after: datetime | None = None
    written_before: datetime | None = None
    newest_first: bool = False

    def __post_init__(self) -> None:
        unknown = [s for s in self.statuses if s not in LABEL_STATUSES]
        if unknown or not self.statuses:
            raise InvalidInput(f"review statuses must be some of {', '.join(LABEL_STATUSES)}")
        if self.layer is not None and self.model is None:
            raise InvalidInput("a layer filter needs its model")


@dataclass(frozen=True)
class ReviewPage:
    items: list[LabelInfo]
    total: int  # labels matching the filters, over all pages


def review_queue(session: Session, filters: ReviewFilters, offset: int = 0, limit: int = 100) -> ReviewPage:
    """One page of the current labels waiting for a reviewer, oldest first unless asked
    otherwise (id breaks ties, so pages neither repeat nor skip a label), with the count
    of all that match."""
    check_limit(limit, "limit")
    check_int(offset, "offset", 0, MAX_INT32)
    latest = current_versions()
    query = (
        select(Label, User.name, Feature, Layer.name, Model.name)
        .join(latest, is_current(latest))
        .join(User, User.id == Label.author_id)
        .join(Feature, Feature.id == Label.feature_id)
        .join(Layer, Layer.id == Feature.layer_id)
        .join(Model, Model.id == Layer.model_id)
        .where(Label.status.in_(filters.statuses))
    )
    for column, wanted in ((Model.name, filters.model), (Layer.name, filters.layer), (User.name, filters.author)):
        if wanted is not None:
            query = query.where(column == wanted)
    if filters.written_after is not None:
        query = query.where(Label.created_at >= filters.written_after)
    if filters.written_before is not None:
        query = query.where(Label.created_at < filters.written_before)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    order = (Label.created_at.desc(), Label.id.desc()) if filters.newest_first else (Label.created_at, Label.id)
    items = []
    for label, author, feature, layer, model in session.execute(query.order_by(*order).offset(offset).limit(limit)):
        address = str(feature_address(model, layer, feature.kind, feature.channel, feature.name))
        items.append(LabelInfo(address, label.version, label.text, label.status, label.confidence, author,
                               label.created_at, label.reason, label.self_review))
    return ReviewPage(items, total)


def circuits_of(session: Session, address: FeatureAddress) -> list[str]:
    """Names of the circuits a feature is a node of."""
    feature_id = get_feature(session, address)[0].id
    return list(session.scalars(
        select(Circuit.name).join(CircuitNode, CircuitNode.circuit_id == Circuit.id)
        .where(CircuitNode.feature_id == feature_id).order_by(Circuit.name)
    ))


@dataclass(frozen=True)
class LayerProgress:
    """How far a layer's atlas is: its units, those with a channel visualization, and the
    current labels by status."""

    model: str
    layer: str
    units: int
    visualized: int
    labels: dict[str, int]


def layer_progress(session: Session) -> list[LayerProgress]:
    """Every layer of every model, in model then forward-pass order; three grouped queries
    whatever the catalogue's size."""
    layers = session.execute(
        select(Layer.id, Model.name, Layer.name).join(Model, Model.id == Layer.model_id)
        .order_by(Model.name, Layer.order, Layer.id)
    ).all()
    units = dict(session.execute(
        select(Feature.layer_id, func.count()).where(Feature.kind == "unit").group_by(Feature.layer_id)).tuples().all())
    visualized = dict(session.execute(
        select(Feature.layer_id, func.count(func.distinct(Artifact.feature_id)))
        .join(Artifact, Artifact.feature_id == Feature.id).where(Artifact.kind == THUMBNAIL_ARTIFACT)
        .group_by(Feature.layer_id)).tuples().all())
    latest = current_versions()
    labels: dict[int, dict[str, int]] = {}
    for layer_id, status, n in session.execute(
        select(Feature.layer_id, Label.status, func.count()).join(latest, is_current(latest))
        .join(Feature, Feature.id == Label.feature_id).group_by(Feature.layer_id, Label.status)
    ):
        labels.setdefault(layer_id, {})[status] = n
    return [LayerProgress(model, name, units.get(layer_id, 0), visualized.get(layer_id, 0),
                          labels.get(layer_id, {})) for layer_id, model, name in layers]


def stats(session: Session) -> dict[str, int]:
    latest = current_versions()
    count = lambda column: session.execute(select(func.count(column))).scalar_one()  # noqa: E731
    return {
        "models": count(Model.id),
        "layers": count(Layer.id),
        "units": count(Feature.id),
        "labelled": session.execute(select(func.count()).select_from(latest)).scalar_one(),
        "accepted": session.execute(
            select(func.count(Label.id)).join(
                latest, is_current(latest))
            .where(Label.status == "accepted")).scalar_one(),
        "edges": count(Edge.id),
        "circuits": count(Circuit.id),
        "families": count(Family.id),
        "evidence": count(Evidence.id),
    }
