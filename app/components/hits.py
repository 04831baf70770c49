"""Search results: what matched, where it leads, and the highlighted snippet.

Snippets are user text with the engine's ``**`` highlight markers: the text between the
markers is escaped so that only the highlighting is Markdown."""

from __future__ import annotations

import streamlit as st

from atlas.catalog import MARK, Catalog
from atlas.catalog.records import SearchHit
from components.links import circuit_link, family_link, unit_link
from components.text import plain
from components.thumbs import THUMBNAIL_PX, thumbnail


def highlighted(snippet: str) -> str:
    return MARK.join(plain(part) for part in snippet.split(MARK))


def show_hit(cat: Catalog, hit: SearchHit, thumbnail_sha: str | None = None) -> None:
    """One result: its kind, the unit's visualization (for hits on units), where it leads,
    and the highlighted snippet."""
    row = st.columns([1, 1, 3, 6])
    row[0].caption(hit.kind)
    kind, _, name = hit.target.partition(":")
    if kind == "circuit":
        circuit_link(name, f"circuit {name}", row[2])
    elif kind == "family":
        family_link(name, f"family {name}", row[2])
    elif kind == "edge":
        row[2].markdown(f"`{hit.target}`")
    else:
        row[1].image(thumbnail(cat, thumbnail_sha), width=THUMBNAIL_PX // 2)
        unit_link(hit.target, container=row[2])
    row[3].markdown(highlighted(hit.snippet) if hit.snippet else plain(hit.text))
