"""Compare two models: the features of one layer matched with another's (stored by `atlas
compare` or a queued comparison: docs/universality.md), best match first, each row the two
units side by side; the redundancy the one-to-one matching hides; and the layer-level
CKA of the two models, as a heatmap and a table. The choice is in the URL. When nothing
is stored yet the page says how to measure it, and curators can queue it for a worker."""

import json
import math

import pandas as pd
import streamlit as st
from components.flash import attempt
from components.links import unit_link
from components.matches import stimuli_text, unit_card
from components.text import plain
from components.thumbs import blob_bytes
from components.url_state import url_page_number, url_selectbox
from identity import can_write
from session import page

from atlas.compute.datasets.stimuli import DEFAULT_DATASET, stimulus_set
from atlas.vocabulary import MATCH_METHODS

PER_PAGE = 16
THRESHOLDS = (0.5, 0.3, 0.7, 0.9)
METHOD_NAMES = {"pooled.assignment": "one-to-one, pooled correlation (Hungarian)",
                "pooled.best": "best partner, pooled correlation",
                "spatial.assignment": "one-to-one, per-position correlation",
                "spatial.best": "best partner, per-position correlation"}

cat, user = page()
st.title("Compare models")
models = [m.name for m in cat.models()]
if not models:
    st.info("No models yet: `atlas model add` or `atlas demo`.")
    st.stop()
top = st.columns([2, 2, 2, 2, 3])
model_a = url_selectbox("Model A", models, key="compare-a", param="a", container=top[0])
layers_a = [layer.name for layer in cat.layers(model_a)]
layer_a = url_selectbox("Layer A", layers_a, key="compare-a-layer", param="a_layer", container=top[1])
model_b = url_selectbox("Model B", models, index=min(1, len(models) - 1), key="compare-b", param="b",
                        container=top[2])
layers_b = [layer.name for layer in cat.layers(model_b)]
layer_b = url_selectbox("Layer B", layers_b, index=layers_b.index(layer_a) if layer_a in layers_b else 0,
                        key="compare-b-layer", param="b_layer", container=top[3])
method = url_selectbox("Matches", MATCH_METHODS, format_func=METHOD_NAMES.get, key="compare-method",
                       param="method", container=top[4])
if layer_a is None or layer_b is None:
    st.info("Both models need layers to compare.")
    st.stop()
a, b = f"{model_a}/{layer_a}", f"{model_b}/{layer_b}"
if a == b:
    st.info("Choose two different layers (usually of two models).")
    st.stop()


def swap() -> None:
    """Model and layer A become B's and B's A's (a callback: it runs before the widgets are drawn)."""
    state = st.session_state
    state["compare-a"], state["compare-b"] = model_b, model_a
    state["compare-a-layer"], state["compare-b-layer"] = layer_b, layer_a


def queue_form() -> None:
    """Curators queue the comparison (chunk jobs and a matching job that waits for them)."""
    if not can_write(user):
        st.caption(f"{user.name} is a viewer: curators queue comparisons.")
        return
    size = cat.model(model_a).input_size
    with st.form("compare-queue"):
        dataset = st.text_input("Images", DEFAULT_DATASET, key="compare-dataset",
                                help="synthetic:N (N generated shapes) or folder:PATH (images on the server); "
                                     "empty for sweeps only")
        sweeps = st.text_input("Tuning sweeps (optional, comma-separated)", key="compare-sweeps",
                               help="e.g. curve_orientation,orientation")
        if st.form_submit_button("Queue comparison"):
            attempt(lambda: cat.enqueue_comparison(a, b, stimulus_set(size, dataset, sweeps), author=user.name),
                    lambda ids: f"Queued {len(ids) - 1} comparison job{'s' if len(ids) != 2 else ''} and a matching "
                                f"job (#{ids[-1]}) that waits for them; a worker (`atlas worker`) runs them, "
                                "then the matches appear here.")


stored = cat.relations(a, b)
if not stored:
    if cat.relations(b, a):
        st.info(f"{plain(b)} ~ {plain(a)} is stored the other way round.")
        st.button(f"Swap: {b} ~ {a}", key="compare-swap", on_click=swap)
    st.info(f"Nothing measured for {a} ~ {b} yet. Measure it with "
            f"`atlas compare {a} {b} --dataset {DEFAULT_DATASET}`, or queue it here for a worker.")
    queue_form()
    st.stop()

# One stimulus set at a time: a pair measured twice has two sets of matches.
sets = {json.dumps(r.stimuli, sort_keys=True): r.stimuli for r in stored}
names: dict[str, dict] = {}
for stimuli in sets.values():  # two sets that read alike (another seed or size) are numbered
    text = stimuli_text(stimuli)
    names[text if text not in names else f"{text} (set {len(names) + 1})"] = stimuli
chosen = url_selectbox("Stimuli", sorted(names), key="compare-stimuli", param="stimuli") if len(names) > 1 \
    else next(iter(names))
stimuli = names[chosen]
st.caption(f"Measured over {plain(chosen)}: correlation of pre-activations (docs/universality.md).")

matches = cat.relations(a, b, method=method, stimuli=stimuli)
st.subheader(f"Matches ({len(matches)})")
if not matches:
    st.caption(f"No {METHOD_NAMES[method]} matches stored for this pair (per-position matches need maps of "
               "one size).")
controls = st.columns([1, 1, 4])
pages = max(1, math.ceil(len(matches) / PER_PAGE))
number = url_page_number("Page", pages, key="compare-page", container=controls[0])
threshold = url_selectbox("Redundancy threshold", THRESHOLDS, key="compare-threshold", param="threshold",
                          container=controls[1])
shared = cat.redundancy(a, b, threshold, stimuli)
copies = {src: dst for dst, sources in shared for src in sources}
nodes = {}
shown = matches[(number - 1) * PER_PAGE:number * PER_PAGE]
if shown:
    nodes = {node.address: node for node in cat.subgraph([e for r in shown for e in (r.src, r.dst)]).nodes}
for r in shown:
    with st.container(border=True):
        left, middle, right = st.columns([4, 1, 4])
        with left:
            unit_card(cat, nodes[r.src])
        with middle:
            st.markdown(f"**{r.score:.3f}**")
            if r.src in copies:
                st.caption(f"⚠ best partner {plain(copies[r.src])} is shared")
        with right:
            unit_card(cat, nodes[r.dst])

st.subheader("Redundancy")
if shared:
    st.warning(f"{len(shared)} unit{'s' if len(shared) != 1 else ''} of {b} "
               f"{'are' if len(shared) != 1 else 'is'} the best partner (≥ {threshold}) of several units of {a}: "
               f"copies of one feature inside {model_a}, not a family.")
    for dst, sources in shared:
        row = st.columns([2, 6])
        unit_link(dst, container=row[0])
        row[1].markdown(f"best partner of {len(sources)}: " + ", ".join(f"`{src}`" for src in sources))
else:
    st.caption(f"No unit of {b} is the best partner (≥ {threshold}) of more than one unit of {a}.")

st.subheader("Layer similarity (linear CKA)")
similar = cat.layer_similarity(model_a, model_b, stimuli)
if not similar:
    st.caption(f"No CKA stored for {model_a} ~ {model_b} over these stimuli.")
else:
    heatmap = next((r.details.get("heatmap") for r in similar if isinstance(r.details, dict)), None)
    if isinstance(heatmap, str) and cat.blobs.exists(heatmap):
        st.image(blob_bytes(cat, heatmap), width=480, caption=f"linear CKA, {model_a} (rows) ~ {model_b} (columns)")
    table = pd.DataFrame([{"A": r.src.split("/", 1)[1], "B": r.dst.split("/", 1)[1], "cka": r.score}
                          for r in similar])
    grid = table.pivot(index="A", columns="B", values="cka")
    grid = grid.reindex(index=list(dict.fromkeys(table["A"])), columns=list(dict.fromkeys(table["B"])))
    st.caption(f"{model_a} (rows) ~ {model_b} (columns)")
    st.dataframe(grid.rename_axis(index=model_a, columns=model_b))
