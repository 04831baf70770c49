"""Links between pages. Units and circuits are addressed by query parameters
(``unit?address=demo/conv2/3``, ``circuit?name=curves``), so every view is a URL that can
be bookmarked and shared, and ``st.page_link`` navigates without reloading the session."""

from typing import Any

import streamlit as st

UNIT_PAGE = "views/unit.py"
CIRCUIT_PAGE = "views/circuit.py"
SEARCH_PAGE = "views/search.py"


def unit_link(address: str, label: str | None = None, container: Any = st) -> None:
    container.page_link(UNIT_PAGE, label=label or address, query_params={"address": address})


def circuit_link(name: str, label: str | None = None, container: Any = st) -> None:
    container.page_link(CIRCUIT_PAGE, label=label or name, query_params={"name": name})


def open_unit(address: str) -> None:
    st.switch_page(UNIT_PAGE, query_params={"address": address})


def open_circuit(name: str) -> None:
    st.switch_page(CIRCUIT_PAGE, query_params={"name": name})


def from_url(param: str, fallback_key: str) -> str:
    """A page's subject: the URL's query parameter, else what this session last opened."""
    value = st.query_params.get(param) or st.session_state.get(fallback_key, "")
    st.session_state[fallback_key] = value
    return value
