"""The catalogue: the one door through which the app, the CLI and notebooks read and
write (see docs/architecture.md).

Besides ``Catalog``, this package offers its callers the few things they need without
reaching into the storage below it: where a catalogue is by default, how to print its
URL, and the types its methods return (``atlas.catalog.records`` has the plain records).
"""

from atlas.catalog.artifacts import ArtifactInfo
from atlas.catalog.browse import LABEL_FILTERS, LayerPage, ReviewPage, UnitCard
from atlas.catalog.edge_store import NewEdge
from atlas.catalog.facade import Catalog, default_user
from atlas.catalog.fulltext import MARK, SEARCH_SYNTAX
from atlas.catalog.graph import MAX_HOPS, GraphEdge, GraphNode, Subgraph
from atlas.catalog.search import MAX_HITS, SearchFilters
from atlas.catalog.uploads import MAX_UPLOAD_BYTES
from atlas.catalog.vector_file import MAX_VECTOR_FILE_BYTES
from atlas.db.blobs import BlobStore
from atlas.db.engine import default_blob_url, default_database_url, redact

__all__ = [
    "LABEL_FILTERS", "MARK", "MAX_HITS", "MAX_HOPS", "MAX_UPLOAD_BYTES", "MAX_VECTOR_FILE_BYTES", "SEARCH_SYNTAX",
    "ArtifactInfo", "BlobStore", "Catalog", "GraphEdge", "GraphNode", "LayerPage", "NewEdge", "ReviewPage",
    "SearchFilters", "Subgraph", "UnitCard", "default_blob_url", "default_database_url", "default_user", "redact",
]
