"""Feature-visualization thumbnails, and the grid of unit cards that shows them.

Thumbnails are small JPEG data URIs cached by blob hash. Blobs are content-addressed, so
a cached thumbnail can never be stale, and the cache can be shared by every session and
catalogue in the process. A data URI goes to the browser inside the page message: no
media-file round trip per image, which is what keeps a 512-unit page fast. JPEG because
it is ten times quicker to encode than PNG and less than half the size for these noisy
images, and the page message carries hundreds of them.
"""

from __future__ import annotations

import base64
import functools
import io

import streamlit as st
from PIL import Image

from atlas.catalog import BlobStore, Catalog, UnitCard
from components.links import unit_link
from components.text import plain

THUMBNAIL_PX = 96
PLACEHOLDER = "data:image/svg+xml;base64," + base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96">'
    b'<rect width="96" height="96" fill="#e8e8e8"/></svg>'
).decode()


def image_uri(image: Image.Image, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


def thumbnail(cat: Catalog, sha: str | None, size: int = THUMBNAIL_PX) -> str:
    """A data URI of the blob ``sha`` scaled to fit ``size`` pixels (a grey tile if none)."""
    return PLACEHOLDER if sha is None else _thumbnail(cat.blobs, sha, size)


@functools.lru_cache(maxsize=50_000)
def _thumbnail(blobs: BlobStore, sha: str, size: int) -> str:
    # A plain LRU cache rather than st.cache_data, whose per-call argument hashing costs
    # more than the whole lookup when a page shows hundreds of thumbnails.
    image = blobs.get_png(sha).convert("RGB")
    image.thumbnail((size, size), Image.Resampling.BILINEAR)
    return image_uri(image, "JPEG")


@st.cache_data(max_entries=2_000, show_spinner=False)
def blob_bytes(_cat: Catalog, sha: str) -> bytes:
    """A stored blob's bytes (full-size images, arrays) for detail views."""
    return _cat.blobs.get_bytes(sha)


def card_caption(card: UnitCard) -> str:
    label = "unlabelled" if card.label is None else f"{plain(card.label.text)} · {card.label.status}"
    return f"⚠ {card.flag} · {label}" if card.flag else label


def unit_grid(cat: Catalog, cards: list[UnitCard], columns: int = 8, classes: list[str] | None = None) -> None:
    """Cards in rows: thumbnail, a link to the unit page, the current label and status
    (and, in a logits layer, the class each unit scores: ``classes`` by channel)."""
    for start in range(0, len(cards), columns):
        for column, card in zip(st.columns(columns), cards[start:start + columns]):
            column.image(thumbnail(cat, card.thumbnail), width=THUMBNAIL_PX)
            name = card.address.rsplit("/", 1)[-1]
            unit_link(card.address, name, column)
            scored = classes[int(name)] if classes and name.isdigit() and int(name) < len(classes) else None
            column.caption((f"class: {plain(scored)} · " if scored is not None else "") + card_caption(card))
