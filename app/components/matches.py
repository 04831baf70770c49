"""Measured relations on a page (the compare and family pages): what stimulus set a
relation was measured over, and one end of a match as a small card (thumbnail, link,
current label, the images that excite it most).

Stimulus sets come from the catalogue as stored JSON; they are described field by field
and escaped, never trusted to have a shape.
"""

from __future__ import annotations

import streamlit as st

from atlas.catalog import Catalog, GraphNode
from components.links import unit_link
from components.text import plain
from components.thumbs import THUMBNAIL_PX, blob_bytes, thumbnail

EXAMPLES_SHOWN = 4


def stimuli_text(stimuli: object) -> str:
    """``synthetic:2000 + orientation sweep (36 steps)``: a stimulus set in the CLI's words."""
    if not isinstance(stimuli, dict):
        return "unknown stimuli"
    parts = []
    dataset = stimuli.get("dataset")
    if isinstance(dataset, dict):
        detail = dataset.get("n", dataset.get("path", ""))
        parts.append(f"{dataset.get('kind', '?')}:{detail}")
    sweeps = stimuli.get("sweeps")
    for sweep in sweeps if isinstance(sweeps, list) else []:
        if isinstance(sweep, dict):
            parts.append(f"{sweep.get('sweep', '?')} sweep ({sweep.get('steps', '?')} steps)")
    return " + ".join(str(part) for part in parts) or "unknown stimuli"


def unit_card(cat: Catalog, node: GraphNode, examples: bool = True) -> None:
    """One unit: its channel visualization, a link to its page, its current label and,
    when stored, its top dataset examples (the first examples run)."""
    st.image(thumbnail(cat, node.thumbnail), width=THUMBNAIL_PX)
    unit_link(node.address)
    st.caption(f"{plain(node.label)} · {node.status}" if node.label else "unlabelled")
    if not examples:
        return
    found = cat.dataset_examples(node.address)
    top = found[0].top[:EXAMPLES_SHOWN] if found else []
    if top:
        st.image([blob_bytes(cat, item.crop) for item in top], width=THUMBNAIL_PX // 2,
                 caption=["" if item.value is None else f"{item.value:+.3g}" for item in top])
