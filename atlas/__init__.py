"""atlas: an annotated circuit atlas and database for neural-network interpretability."""

from atlas.catalog import Catalog
from atlas.catalog.edge_store import NewEdge
from atlas.errors import AtlasError, NotFound, VersionConflict

__all__ = ["AtlasError", "Catalog", "NewEdge", "NotFound", "VersionConflict"]
