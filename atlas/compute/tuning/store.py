"""Tuning curves as catalogue artifacts: one ``tuning_curve`` artifact per unit and sweep.

An artifact is keyed by the sweep spec (every option filled in, the image size included),
the activation site and the reduction, so a rerun finds it and another sweep is another
artifact. Its blobs: ``plot`` (a PNG, ``atlas.compute.tuning.plot``), ``curve`` (an
array of rows ``(value, response)``, which the app can also chart) and ``summary`` (JSON:
the parameter, its unit, the preferred value, peak, mean, min and selectivity).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from atlas.address import FeatureAddress
from atlas.compute.datasets.sweep_spec import SWEEPS
from atlas.compute.tuning.curves import TuningCurves
from atlas.compute.tuning.plot import plot_curve
from atlas.db.blobs import BlobStore
from atlas.vocabulary import TUNING_ARTIFACT

if TYPE_CHECKING:
    from atlas.catalog import Catalog


def tuning_blobs(blobs: BlobStore, curves: TuningCurves, summaries: list[dict]) -> list[dict]:
    """The blobs of each unit's artifact (rows in ``curves.units`` order), put in the store."""
    kind = SWEEPS.get(curves.spec["sweep"])
    out = []
    for response, summary in zip(curves.responses, summaries):
        about = {"parameter": kind.parameter, "unit": kind.unit, **summary}
        picture = plot_curve(curves.values, response, kind.parameter, kind.unit, summary, kind.log)
        out.append({"plot": blobs.put_png(picture),
                    "curve": blobs.put_array(np.stack([curves.values, response], axis=1)),
                    "summary": blobs.put_bytes(json.dumps(about, sort_keys=True).encode())})
    return out


def read_summary(blobs: BlobStore, artifact_blobs: dict) -> dict:
    """The summary of a stored tuning-curve artifact."""
    return json.loads(blobs.get_bytes(artifact_blobs["summary"]))


def store_tuning(catalog: Catalog, model: str, curves: TuningCurves, replace: bool = False) -> int:
    """Store each unit's curve through the catalogue; returns how many were written
    (existing ones are kept unless ``replace``)."""
    rows = tuning_blobs(catalog.blobs, curves, curves.summaries())
    return sum(catalog.add_artifact(FeatureAddress(model, curves.layer, channel=unit), TUNING_ARTIFACT,
                                    curves.params(), blobs, replace=replace)
               for unit, blobs in zip(curves.units, rows))
