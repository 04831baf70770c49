"""Search results: what matched, where it leads, and the highlighted snippet.

Snippets are user text with the engine's ``**`` highlight markers: the text between the
markers is escaped so that only the highlighting is Markdown."""

from __future__ import annotations

import streamlit as st

from atlas.catalog import MARK
from atlas.catalog.records import SearchHit
from components.links import circuit_link, family_link, unit_link
from components.text import plain


def highlighted(snippet: str) -> str:
    return MARK.join(plain(part) for part in snippet.split(MARK))


def show_hit(hit: SearchHit) -> None:
    row = st.columns([1, 3, 6])
    row[0].caption(hit.kind)
    kind, _, name = hit.target.partition(":")
    if kind == "circuit":
        circuit_link(name, f"circuit {name}", row[1])
    elif kind == "family":
        family_link(name, f"family {name}", row[1])
    elif kind == "edge":
        row[1].markdown(f"`{hit.target}`")
    else:
        unit_link(hit.target, container=row[1])
    row[2].markdown(highlighted(hit.snippet) if hit.snippet else plain(hit.text))
