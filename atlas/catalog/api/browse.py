"""Browsing: a layer's page of units, the review queue, the home page's figures, the
circuits a feature is in. Part of the Catalog API (mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from atlas.address import FeatureAddress, LayerAddress, as_feature, as_layer
from atlas.catalog import browse


class BrowseMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions."""

    def layer_page(
        self, layer: str | LayerAddress, offset: int = 0, limit: int = 64, labelled: str = "all",
        status: str | None = None, family: str | None = None,
    ) -> browse.LayerPage:
        """One page of a layer's units with current labels and thumbnails, filtered by
        labelled/unlabelled, label status and family."""
        address = as_layer(layer)
        with self._reading() as session:
            return browse.layer_page(session, address, offset, limit, labelled, status, family)

    def review_queue(
        self, statuses: Sequence[str] = ("proposed", "disputed"), *, model: str | None = None,
        layer: str | None = None, author: str | None = None, written_after: datetime | None = None,
        written_before: datetime | None = None, newest_first: bool = False, offset: int = 0, limit: int = 100,
    ) -> browse.ReviewPage:
        """One page of the labels waiting for review, filtered (by status, model and layer,
        author, when the current version was written) and sorted oldest or newest first,
        with the total that match."""
        filters = browse.ReviewFilters(tuple(statuses), model, layer, author, written_after, written_before,
                                       newest_first)
        with self._reading() as session:
            return browse.review_queue(session, filters, offset, limit)

    def layer_progress(self) -> list[browse.LayerProgress]:
        """Each layer's units, units with a channel visualization, and labels by status
        (the home page's progress table)."""
        with self._reading() as session:
            return browse.layer_progress(session)

    def stats(self) -> dict[str, int]:
        """Catalogue figures for the home page."""
        with self._reading() as session:
            return browse.stats(session)

    def circuits_of(self, feature: str | FeatureAddress) -> list[str]:
        """The circuits that have ``feature`` as a node."""
        address = as_feature(feature)
        with self._reading() as session:
            return browse.circuits_of(session, address)
