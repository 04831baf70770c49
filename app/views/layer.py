"""Layer browser: a layer's units as a grid of channel visualizations with their labels,
filtered and paged (one query per page, thumbnails cached, so 800+ units stay quick)."""

import math

import streamlit as st
from components.direction_jobs import direction_job_forms
from components.direction_upload import direction_form
from components.thumbs import unit_grid
from session import page

from atlas.catalog import LABEL_FILTERS
from atlas.vocabulary import LABEL_STATUSES

PAGE_SIZES = (32, 64, 128, 256, 512)
ANY = "any"

cat, user = page()
st.title("Layer browser")
models = [m.name for m in cat.models()]
if not models:
    st.info("No models yet: `atlas model add` or `atlas demo`.")
    st.stop()
top = st.columns([2, 2, 2, 2, 2, 1])
model = top[0].selectbox("Model", models, key="layer-model")
layers = [layer.name for layer in cat.layers(model)]
layer = top[1].selectbox("Layer", layers, key="layer-name")
labelled = top[2].selectbox("Labels", LABEL_FILTERS, key="layer-labelled")
status = top[3].selectbox("Status", (ANY, *LABEL_STATUSES), key="layer-status")
family = top[4].selectbox("Family", (ANY, *cat.family_names()), key="layer-family")
size = top[5].selectbox("Per page", PAGE_SIZES, index=1, key="layer-size")
if layer is None:
    st.info(f"{model} has no layers.")
    st.stop()

address = f"{model}/{layer}"
filters = {"labelled": labelled, "status": None if status == ANY else status,
           "family": None if family == ANY else family}
total = cat.layer_page(address, 0, 1, **filters).total
pages = max(1, math.ceil(total / size))
number = st.number_input(f"Page (of {pages})", 1, pages, 1, key="layer-page")
result = cat.layer_page(address, (number - 1) * size, size, **filters)
st.caption(f"{result.total} of {cat.layer(address).channels} units in {address} match; "
           f"showing {len(result.cards)}.")
unit_grid(cat, result.cards)
direction_form(cat, user, address)
direction_job_forms(cat, user, address)
