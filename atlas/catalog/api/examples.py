"""Dataset examples of a feature, read back with their values. Part of the Catalog API
(mixed into ``atlas.catalog.Catalog``).

An ``examples`` artifact (written by ``atlas.compute.examples``) holds PNG crops, most
extreme first, and a ``records`` array: per example its dataset index, the unit's
pre-activation there (``value``) and its map position. This pairs each crop with its
record, torch-free, so the app and the CLI show the value beside the crop, and reads the
distribution of the feature's per-image scores over the dataset when the run stored one
(``atlas.catalog.histogram``).
"""

from __future__ import annotations

import numpy as np

from atlas.address import FeatureAddress
from atlas.catalog.histogram import HISTOGRAM_BLOB, decode_histogram
from atlas.catalog.records import DatasetExample, DatasetExamples
from atlas.vocabulary import EXAMPLES_ARTIFACT

# One stored example: dataset index, the unit's pre-activation there, its map position.
EXAMPLE_RECORD = np.dtype([("index", "<i8"), ("value", "<f4"), ("y", "<i4"), ("x", "<i4")])
_FIELDS = ("index", "value", "y", "x")


def _records(array: np.ndarray, counts: tuple[int, int]) -> np.ndarray | None:
    """The (2, k) records of a top and a bottom list of ``counts`` crops, or None when
    the array is not such a table (an artifact written without values)."""
    names = array.dtype.names or ()
    if not all(name in names for name in _FIELDS) or array.ndim != 2 or array.shape[0] != 2:
        return None
    return array if all(n <= array.shape[1] for n in counts) else None


class ExamplesMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its artifacts and blob store."""

    def dataset_examples(self, feature: str | FeatureAddress) -> list[DatasetExamples]:
        """Every ``examples`` artifact of ``feature``: its parameters, and its top and
        bottom examples (crop, dataset index, value, position; value and position None
        when the artifact recorded none), and the distributions of its per-image scores
        (empty when none was recorded or the stored one is malformed)."""
        out = []
        for artifact in self.artifacts(feature, EXAMPLES_ARTIFACT):
            crops = [list(artifact.blobs.get(end) or []) for end in ("top", "bottom")]
            sha = artifact.blobs.get("records")
            table = (_records(self.blobs.get_array(sha), (len(crops[0]), len(crops[1])))
                     if sha else None)
            ends = []
            for row, shas in enumerate(crops):
                ends.append([
                    DatasetExample(crop, None, None, None) if table is None else
                    DatasetExample(crop, int(table[row, i]["index"]), float(table[row, i]["value"]),
                                   (int(table[row, i]["y"]), int(table[row, i]["x"])))
                    for i, crop in enumerate(shas)])
            histogram = artifact.blobs.get(HISTOGRAM_BLOB)
            spread = decode_histogram(self.blobs.get_bytes(histogram)) if isinstance(histogram, str) else None
            out.append(DatasetExamples(artifact.address, dict(artifact.params), ends[0], ends[1], spread or {}))
        return out
