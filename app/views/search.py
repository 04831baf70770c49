"""Search: full text over labels, evidence, circuits, claims and families, narrowed by
model, layer, label status, family, author and whether a unit has evidence."""

import streamlit as st
from components.hits import show_hit
from components.links import from_url
from session import page

from atlas import AtlasError
from atlas.vocabulary import LABEL_STATUSES

ANY = "any"
EVIDENCE_CHOICES = {ANY: None, "with evidence": True, "without evidence": False}

cat, user = page()
st.title("Search")
query = st.text_input("Query", value=from_url("q", "search-query"))
with st.expander("Filters"):
    row = st.columns(6)
    models = [m.name for m in cat.models()]
    model = row[0].selectbox("Model", (ANY, *models), key="search-model")
    layers = [layer.name for layer in cat.layers(model)] if model != ANY else []
    layer = row[1].selectbox("Layer", (ANY, *layers), key="search-layer")
    status = row[2].selectbox("Label status", (ANY, *LABEL_STATUSES), key="search-status")
    family = row[3].selectbox("Family", (ANY, *cat.family_names()), key="search-family")
    author = row[4].selectbox("Author", (ANY, *[u.name for u in cat.users()]), key="search-author")
    has_evidence = row[5].selectbox("Evidence", EVIDENCE_CHOICES, key="search-evidence")
if not query:
    st.stop()
st.query_params["q"] = query
st.session_state["search-query"] = query
chosen = {"model": model, "layer": f"{model}/{layer}" if layer != ANY else ANY, "status": status,
          "family": family, "author": author}
filters = {name: value for name, value in chosen.items() if value != ANY}
if EVIDENCE_CHOICES[has_evidence] is not None:
    filters["has_evidence"] = EVIDENCE_CHOICES[has_evidence]
try:
    hits = cat.search(query, **filters)
except AtlasError as exc:
    st.error(str(exc))
    st.stop()
st.caption(f"{len(hits)} result{'s' if len(hits) != 1 else ''}")
if not hits:
    st.info("No matches.")
for hit in hits:
    show_hit(hit)
