"""Links from a unit to the pages that look around it: a side-by-side comparison with
another unit (``pair?a=…``, the second chosen there) and its neighbourhood in the stored
graph (``graph?address=…``). Both pages keep their state in the URL, like the unit page."""

from __future__ import annotations

from typing import Any

import streamlit as st
from identity import carried

PAIR_PAGE = "views/pair.py"
GRAPH_PAGE = "views/graph.py"


def pair_link(a: str, b: str | None = None, label: str = "compare with…", container: Any = st) -> None:
    query = {"a": a, **({"b": b} if b else {}), **carried()}
    container.page_link(PAIR_PAGE, label=label, query_params=query)


def graph_link(address: str, label: str = "neighbourhood graph", container: Any = st) -> None:
    container.page_link(GRAPH_PAGE, label=label, query_params={"address": address, **carried()})


def explore_links(address: str) -> None:
    """The row of links under a unit's title."""
    row = st.columns([1, 1, 4])
    pair_link(address, container=row[0])
    graph_link(address, container=row[1])
