"""Browsing: a layer's page of units, the review queue, the home page's figures, the
circuits a feature is in. Part of the Catalog API (mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from collections.abc import Sequence

from atlas.address import FeatureAddress, LayerAddress, as_feature, as_layer
from atlas.catalog import browse
from atlas.catalog.records import LabelInfo


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

    def review_queue(self, statuses: Sequence[str] = ("proposed", "disputed"), limit: int = 100) -> list[LabelInfo]:
        with self._reading() as session:
            return browse.review_queue(session, tuple(statuses), limit)

    def stats(self) -> dict[str, int]:
        """Catalogue figures for the home page."""
        with self._reading() as session:
            return browse.stats(session)

    def circuits_of(self, feature: str | FeatureAddress) -> list[str]:
        """The circuits that have ``feature`` as a node."""
        address = as_feature(feature)
        with self._reading() as session:
            return browse.circuits_of(session, address)
