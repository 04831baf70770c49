"""Search: full text over labels, evidence, circuits, claims and families, narrowed by
model, layer, label status, family, author and whether a unit has evidence; ranked by what
a researcher means (the whole label first, accepted before proposed, units the catalogue
knows more about first). The query, the filters and the page are in the URL."""

import math

import streamlit as st
from components.class_names import class_matches
from components.hits import show_hit
from components.links import from_url, unit_link
from components.text import plain
from components.url_state import url_page_number, url_selectbox
from session import page

from atlas import AtlasError
from atlas.catalog import SEARCH_SYNTAX
from atlas.vocabulary import LABEL_STATUSES

ANY = "any"
EVIDENCE_CHOICES = {ANY: None, "with evidence": True, "without evidence": False}
PER_PAGE = 25

cat, user = page()
st.title("Search")
query = st.text_input("Query", value=from_url("q", "search-query"))
with st.expander("Filters"):
    row = st.columns(6)
    models = [m.name for m in cat.models()]
    model = url_selectbox("Model", (ANY, *models), key="search-model", param="model", omit=ANY, container=row[0])
    layers = [layer.name for layer in cat.layers(model)] if model != ANY else []
    layer = url_selectbox("Layer", (ANY, *layers), key="search-layer", param="layer", omit=ANY, container=row[1])
    status = url_selectbox("Label status", (ANY, *LABEL_STATUSES), key="search-status", param="status",
                           omit=ANY, container=row[2])
    family = url_selectbox("Family", (ANY, *cat.family_names()), key="search-family", param="family",
                           omit=ANY, container=row[3])
    author = url_selectbox("Author", (ANY, *[u.name for u in cat.users()]), key="search-author", param="author",
                           omit=ANY, container=row[4])
    has_evidence = url_selectbox("Evidence", tuple(EVIDENCE_CHOICES), key="search-evidence", param="evidence",
                                 omit=ANY, container=row[5])
if not query:
    st.markdown("Search the catalogue's **labels** (a unit's current label and its reason), **notes and links** "
                "on units and circuits, **circuits** and their **claims**, and **families**; narrow by model, "
                "layer, label status, family, author or evidence under *Filters*. For example: "
                "`curve detector`, `high-low`, `dog head`.")
    st.caption(SEARCH_SYNTAX)
    st.stop()
st.query_params["q"] = query
st.session_state["search-query"] = query
chosen = {"model": model, "layer": f"{model}/{layer}" if layer != ANY else ANY, "status": status,
          "family": family, "author": author}
filters = {name: value for name, value in chosen.items() if value != ANY}
if EVIDENCE_CHOICES[has_evidence] is not None:
    filters["has_evidence"] = EVIDENCE_CHOICES[has_evidence]
try:
    total = cat.search_count(query, **filters)
    pages = max(1, math.ceil(total / PER_PAGE))
    number = url_page_number("Page", pages, key="search-page") if total > PER_PAGE else 1
    hits = cat.search(query, limit=PER_PAGE, offset=(number - 1) * PER_PAGE, **filters)
    suggestion = cat.search_suggestion(query) if total < PER_PAGE else None
except AtlasError as exc:
    st.error(str(exc))
    st.stop()
first = (number - 1) * PER_PAGE + 1
shown = f"; showing {first}–{first + len(hits) - 1}" if hits else ""
st.caption(f"{total} result{'s' if total != 1 else ''}{shown}")
if suggestion:
    st.markdown(f"Did you mean **{suggestion}**?")
    if st.button(f"Search for {suggestion}", key="search-suggestion"):
        st.query_params["q"] = suggestion
        st.session_state["search-query"] = suggestion
        st.rerun()
classes = class_matches(cat, query)
if classes:  # the class names models were registered with are not in the text index
    st.markdown("**Output units whose class matches**")
    for target, name in classes:
        unit_link(target, f"{target} · class: {plain(name)}")
if not hits:
    st.info("No matches." + ("" if not filters else " Some filters are set: widen them under Filters."))
thumbnails = {node.address: node.thumbnail
              for node in cat.subgraph([h.target for h in hits if h.target.count("/") == 2]).nodes}
for hit in hits:
    show_hit(cat, hit, thumbnails.get(hit.target))
