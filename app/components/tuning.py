"""A stored tuning curve on a unit's page.

A ``tuning`` job's artifact has a ``plot`` (PNG) and a ``summary`` (JSON: the swept
parameter, its unit, the preferred value and the selectivity; see docs/science.md); the
plot is shown with the summary as its caption. A curve stored another way (only arrays,
e.g. added by hand) is charted by ``components.blobview.show_blob``.
"""

from __future__ import annotations

import json

import streamlit as st

from atlas import Catalog
from components.blobview import show_blob
from components.text import plain
from components.thumbs import blob_bytes


def _caption(artifact_params: dict, summary: dict) -> str:
    sweep = artifact_params.get("sweep") or {}
    about = f"{sweep.get('sweep', '?')} sweep, {sweep.get('steps', '?')} steps, {artifact_params.get('site', '?')}"
    return plain(f"{about}: preferred {summary['parameter']} {float(summary['preferred']):.4g} {summary['unit']}, "
                 f"selectivity {float(summary['selectivity']):.2f}")


def tuning_curve(cat: Catalog, params: dict, blobs: dict) -> None:
    if "plot" not in blobs:
        for value in blobs.values():
            for sha in value if isinstance(value, list) else [value]:
                show_blob(cat, sha, params.get("title", "tuning curve"), params)
        return
    try:
        caption = _caption(params, json.loads(blob_bytes(cat, blobs["summary"])))
    except (KeyError, TypeError, ValueError):  # a summary from elsewhere (a bundle) that does not read
        caption = "tuning curve (summary unreadable)"
    st.image(blob_bytes(cat, blobs["plot"]), caption=caption)
