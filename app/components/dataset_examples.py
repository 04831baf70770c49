"""A feature's dataset examples: strips of receptive-field crops, each captioned with the
feature's pre-activation there, and the activation histogram they are the extremes of.
Shared by the unit page and the side-by-side comparison of two units."""

from __future__ import annotations

import streamlit as st

from atlas import Catalog
from atlas.catalog.records import DatasetExample, DatasetExamples
from components.activation_histogram import activation_histogram
from components.thumbs import blob_bytes

ENDS = (("top", "excite it most"), ("bottom", "inhibit it most"))


def example_caption(item: DatasetExample) -> str:
    """The value under an example's crop (``-1.73``), and its dataset image."""
    if item.value is None:
        return "value not recorded"
    return f"{item.value:+.3g} · image {item.index}"


def example_strips(cat: Catalog, found: DatasetExamples, key: str, width: int = 96) -> None:
    """The top and bottom crops of one examples run, then its activation histogram."""
    site = "pre-activation" if found.params.get("site") == "pre" else "activation"
    for end, meaning in ENDS:
        items = found.top if end == "top" else found.bottom
        if items:
            st.caption(f"{end} {len(items)}: the images that {meaning} (receptive-field crops, {site} under each)")
            st.image([blob_bytes(cat, item.crop) for item in items], width=width,
                     caption=[example_caption(item) for item in items])
    activation_histogram(found, key=key)
