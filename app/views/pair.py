"""Two units side by side (``/pair?a=…&b=…``): their visualizations, labels, classes,
dataset examples with activation histograms, and the stored connections between them in
either direction, so a reader can judge whether two units are the same feature, or how
one drives the other."""

import streamlit as st
from components.class_names import class_caption, class_of
from components.dataset_examples import example_strips
from components.links import from_url, unit_link
from components.text import plain
from components.thumbs import blob_bytes
from session import page

from atlas import AtlasError
from atlas.catalog.records import FeatureInfo
from atlas.vocabulary import EDGE_KIND_NAMES, EDGE_KINDS, THUMBNAIL_ARTIFACT

cat, user = page()
st.title("Compare two units")
row = st.columns(2)
wanted = [row[0].text_input("First unit (model/layer/unit)", value=from_url("a", "pair-a")),
          row[1].text_input("Second unit", value=from_url("b", "pair-b"))]
if not all(wanted):
    st.info("Two unit addresses: open one unit's page and follow \"compare with…\", then type the other.")
    st.stop()
try:
    features = [cat.feature(address) for address in wanted]
except AtlasError as exc:
    st.error(str(exc))
    st.stop()
for param, feature in zip(("a", "b"), features):
    st.query_params[param] = feature.address
    st.session_state[f"pair-{param}"] = feature.address


def side(feature: FeatureInfo, column: str) -> None:
    """One unit: a link to its page, label, class, newest channel visualization, examples."""
    unit_link(feature.address)
    label = feature.label
    st.markdown(f"label: **{plain(label.text)}** · {label.status}" if label else "(unlabelled)")
    class_caption(class_of(cat, feature.model, feature.layer, feature.channel))
    renders = cat.artifacts(feature.address, THUMBNAIL_ARTIFACT)
    if renders:
        st.image(blob_bytes(cat, renders[-1].blobs["image"]), caption=THUMBNAIL_ARTIFACT, width=160)
    else:
        st.caption("No channel visualization yet.")
    example_sets = cat.dataset_examples(feature.address)
    for number, found in enumerate(example_sets):
        example_strips(cat, found, key=f"pair-histogram-{column}-{number}", width=72)
    if not example_sets:
        st.caption("No dataset examples computed yet.")


for column, feature, name in zip(st.columns(2), features, ("a", "b")):
    with column:
        side(feature, name)
st.markdown("**Stored connections between them**")
edges = cat.subgraph([f.address for f in features], EDGE_KINDS).edges
for edge in edges:
    st.markdown(f"`{edge.src}` → `{edge.dst}` · {EDGE_KIND_NAMES[edge.kind]} · {edge.figures}")
if not edges:
    st.caption("None stored, in either direction (direct, expanded or attribution).")
