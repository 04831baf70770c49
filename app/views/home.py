"""Home: what the atlas is, how far each model's atlas has come, what changed lately (each
row linked to what it changed), and a way into search."""

import pandas as pd
import streamlit as st
from components.links import SEARCH_PAGE, circuit_link, unit_link
from components.text import plain
from identity import carried
from session import page

from atlas.vocabulary import LABEL_STATUSES

LAYER_PAGE = "views/layer.py"

cat, user = page()
st.title("Circuit Atlas")
st.markdown(
    "An annotated atlas of neural-network features and the circuits they form, after Distill's "
    "*Zoom In*: each unit (or direction) of a layer has its feature visualizations, dataset examples and "
    "signed connections; researchers label units, add evidence, and catalogue circuits with falsifiable "
    "claims whose experiments are run and stored. Open a layer below, search, or work through the review queue.")
figures = cat.stats()
for column, name in zip(st.columns(6), ("models", "units", "labelled", "accepted", "circuits", "evidence")):
    column.metric(name, figures[name])

with st.form("home-search", clear_on_submit=True, border=False):
    query = st.text_input("Search labels, notes, circuits and families", key="home-query")
    if st.form_submit_button("Search") and query:
        st.switch_page(SEARCH_PAGE, query_params={"q": query, **carried()})

st.subheader("Models")
progress = cat.layer_progress()
if not progress:
    st.info("No models yet: `atlas demo` builds the demo atlas, `atlas model add` registers yours.")
for model in dict.fromkeys(p.model for p in progress):
    layers = [p for p in progress if p.model == model]
    units, shown = sum(p.units for p in layers), sum(p.visualized for p in layers)
    labelled = sum(sum(p.labels.values()) for p in layers)
    with st.expander(f"**{model}** · {len(layers)} layers · {units} units · {shown} visualized · {labelled} labelled",
                     expanded=len(progress) <= 12):
        links = st.columns(min(len(layers), 6))
        for index, p in enumerate(layers):
            links[index % len(links)].page_link(LAYER_PAGE, label=p.layer,
                                                query_params={"model": model, "layer": p.layer, **carried()})
        st.dataframe(pd.DataFrame([{"layer": p.layer, "units": p.units, "visualized": p.visualized,
                                    **{status: p.labels.get(status, 0) for status in LABEL_STATUSES}}
                                   for p in layers]), hide_index=True, width="stretch", key=f"home-progress-{model}")

st.subheader("Recent activity")
for entry in cat.audit_log(limit=20):
    row = st.columns([2, 5, 3])
    row[0].caption(f"{entry.created_at:%Y-%m-%d %H:%M}")
    row[1].markdown(f"**{plain(entry.actor)}** {entry.action}")
    if entry.entity_type == "feature":
        unit_link(entry.entity_id, container=row[2])
    elif entry.entity_type == "circuit":
        circuit_link(entry.entity_id, container=row[2])
    elif entry.entity_type == "layer" and entry.entity_id.count("/") == 1:
        model, layer = entry.entity_id.split("/")
        row[2].page_link(LAYER_PAGE, label=entry.entity_id, query_params={"model": model, "layer": layer,
                                                                         **carried()})
    else:
        row[2].caption(f"{entry.entity_type} `{plain(entry.entity_id)}`")
