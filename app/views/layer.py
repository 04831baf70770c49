"""Layer browser: a layer's units as a grid of channel visualizations with their labels,
filtered and paged (one query per page, thumbnails cached, so 800+ units stay quick). The
model, layer, filters and page are in the URL, so a link opens the same grid."""

import math

import streamlit as st
from components.class_names import output_classes
from components.direction_jobs import direction_job_forms
from components.direction_upload import direction_form
from components.thumbs import unit_grid
from components.url_state import url_page_number, url_selectbox
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
model = url_selectbox("Model", models, key="layer-model", param="model", container=top[0])
layers = [layer.name for layer in cat.layers(model)]
layer = url_selectbox("Layer", layers, key="layer-name", param="layer", container=top[1])
labelled = url_selectbox("Labels", LABEL_FILTERS, key="layer-labelled", param="labels", container=top[2])
status = url_selectbox("Status", (ANY, *LABEL_STATUSES), key="layer-status", param="status", container=top[3])
family = url_selectbox("Family", (ANY, *cat.family_names()), key="layer-family", param="family", container=top[4])
size = url_selectbox("Per page", PAGE_SIZES, index=1, key="layer-size", param="size", container=top[5])
if layer is None:
    st.info(f"{model} has no layers.")
    st.stop()

address = f"{model}/{layer}"
filters = {"labelled": labelled, "status": None if status == ANY else status,
           "family": None if family == ANY else family}
total = cat.layer_page(address, 0, 1, **filters).total
pages = max(1, math.ceil(total / size))
number = url_page_number("Page", pages, key="layer-page")
result = cat.layer_page(address, (number - 1) * size, size, **filters)
st.caption(f"{result.total} of {cat.layer(address).channels} units in {address} match; "
           f"showing {len(result.cards)}.")
unit_grid(cat, result.cards, classes=output_classes(cat, model, layer))
direction_form(cat, user, address)
direction_job_forms(cat, user, address)
