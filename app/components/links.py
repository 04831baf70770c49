"""Links between pages. Units, circuits and families are addressed by query parameters
(``unit?address=demo/conv2/3``, ``circuit?name=curves``, ``family?name=curves``), so every view is a URL that can
be bookmarked and shared, and ``st.page_link`` navigates without reloading the session. Links
carry the picked identity (``?as=``, see identity.py), so a page opened in a new tab keeps it."""

from typing import Any

import streamlit as st
from identity import carried

UNIT_PAGE = "views/unit.py"
CIRCUIT_PAGE = "views/circuit.py"
SEARCH_PAGE = "views/search.py"
FAMILY_PAGE = "views/family.py"


def unit_link(address: str, label: str | None = None, container: Any = st) -> None:
    container.page_link(UNIT_PAGE, label=label or address, query_params={"address": address, **carried()})


def circuit_link(name: str, label: str | None = None, container: Any = st) -> None:
    container.page_link(CIRCUIT_PAGE, label=label or name, query_params={"name": name, **carried()})


def family_link(name: str, label: str | None = None, container: Any = st) -> None:
    container.page_link(FAMILY_PAGE, label=label or name, query_params={"name": name, **carried()})


def family_links(names: list[str], container: Any = st) -> None:
    """"families:" and a link to each family's page, on one line (a unit's page)."""
    row = container.container(horizontal=True, gap="small", vertical_alignment="center")
    row.caption("families:", width="content")
    for name in names:
        family_link(name, container=row)


def open_unit(address: str) -> None:
    st.switch_page(UNIT_PAGE, query_params={"address": address, **carried()})


def open_circuit(name: str) -> None:
    st.switch_page(CIRCUIT_PAGE, query_params={"name": name, **carried()})


def from_url(param: str, fallback_key: str) -> str:
    """A page's subject: the URL's query parameter, else what this session last opened."""
    value = st.query_params.get(param) or st.session_state.get(fallback_key, "")
    st.session_state[fallback_key] = value
    return value
