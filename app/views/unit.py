"""Unit page: everything known about one feature, and the forms to curate it."""

import streamlit as st
from components import evidence
from components.circuit_membership import add_to_circuit
from components.class_names import class_caption, class_of
from components.connections import connection_cards
from components.dataset_examples import example_strips
from components.explore_links import explore_links
from components.label_editor import editor, self_review
from components.links import circuit_link, family_links, from_url
from components.text import plain
from components.thumbs import blob_bytes
from components.tuning import tuning_curve
from components.unit_nav import unit_navigation
from identity import can_write
from session import page

from atlas import AtlasError
from atlas.catalog import ArtifactInfo
from atlas.vocabulary import EDGE_KIND_NAMES, EDGE_SORTS, TUNING_ARTIFACT, VIS_ARTIFACT_KINDS

TOP_K = 8
SORT_NAMES = {"strength": "strongest (norm)", "net": "net (most excitatory first, most inhibitory last)",
              "excitatory": "strongest excitatory", "inhibitory": "strongest inhibitory"}

cat, user = page()
address = st.text_input("Unit address (model/layer/unit)", value=from_url("address", "unit-address"))
if not address:
    st.info("Open a unit from the layer browser or search, or type its address.")
    st.stop()
try:
    feature = cat.feature(address)
except AtlasError as exc:
    st.error(str(exc))
    st.stop()
st.query_params["address"] = feature.address
st.session_state["unit-address"] = feature.address
address, label = feature.address, feature.label


def shas(blobs: dict) -> list[str]:
    """Every blob hash of an artifact (``{"image": sha}``, ``{"images": [...]}``, …)."""
    return [sha for value in blobs.values() for sha in (value if isinstance(value, list) else [value])]


def render_settings(params: dict) -> str:
    """``64 px · 128 steps · lr 0.15 · seed 0 · pre``: what a visualization was rendered with."""
    parts = [f"{params['size']} px" if "size" in params else None,
             f"{params['steps']} steps" if "steps" in params else None,
             f"lr {params['lr']:g}" if "lr" in params else None,
             f"seed {params['seed']}" if "seed" in params else None, params.get("site")]
    return " · ".join(str(part) for part in parts if part is not None)


def visualization(artifact: ArtifactInfo) -> None:
    """One render of one kind: its images, its settings and date, and a flag when the unit
    did not respond to it (it is then no picture of the unit)."""
    if artifact.flag:
        st.warning(f"{artifact.kind}: {artifact.flag}; this image does not show what drives the unit.")
    images = shas(artifact.blobs)
    st.image([blob_bytes(cat, sha) for sha in images], caption=[artifact.kind] * len(images), width=160)
    st.caption(f"{render_settings(artifact.params)} · {artifact.created_at:%Y-%m-%d %H:%M}"
               + (f" · activation {artifact.outcome['value']:.3g}" if "value" in (artifact.outcome or {}) else ""))


st.title(address)
unit_navigation(cat, feature)
explore_links(feature.address)
st.subheader(plain(label.text) if label else "(unlabelled)")
if label:
    st.caption(f"{label.status}{self_review(label)} · version {label.version} by {label.author}"
               + (f" · confidence {label.confidence:.2f}" if label.confidence is not None else ""))
class_caption(class_of(cat, feature.model, feature.layer, feature.channel))
families = cat.families_of(address)
if families:
    family_links(families)

artifacts = cat.artifacts(address)
left, right = st.columns([3, 2])
with left:
    visuals, examples, connections, curves = st.tabs(
        ["Visualizations", "Dataset examples", "Connections", "Tuning curves"])
    with visuals:
        shown = [a for a in artifacts if a.kind in VIS_ARTIFACT_KINDS]
        versions: dict[str, list[ArtifactInfo]] = {}
        for artifact in shown:  # oldest first within a kind
            versions.setdefault(artifact.kind, []).append(artifact)
        for kind, renders in versions.items():
            visualization(renders[-1])
            if len(renders) > 1:
                with st.expander(f"{len(renders) - 1} earlier {kind} render{'s' if len(renders) > 2 else ''}"):
                    for artifact in reversed(renders[:-1]):
                        visualization(artifact)
        if not shown:
            st.caption("No visualizations computed yet (Jobs page: vis.channel for this layer).")
    with examples:
        example_sets = cat.dataset_examples(address)
        for number, found in enumerate(example_sets):
            example_strips(cat, found, key=f"unit-histogram-{number}")
        if not example_sets:
            st.caption("No dataset examples computed yet.")
    with connections:
        order = st.selectbox("Order", EDGE_SORTS, format_func=SORT_NAMES.get, key="unit-edge-sort")
        shown = {direction: cat.shown_connections(address, TOP_K, direction, order) for direction in ("in", "out")}
        kinds = {EDGE_KIND_NAMES[s.kind] for s in shown.values()}
        listed = kinds.pop() if len(kinds) == 1 else (f"{EDGE_KIND_NAMES[shown['in'].kind]} (inputs) and "
                                                       f"{EDGE_KIND_NAMES[shown['out'].kind]} (outputs)")
        st.caption(f"Showing {listed}, {SORT_NAMES[order]}. Net > 0 excites, < 0 inhibits "
                   "(a kernel's sum; norm is its L2 norm).")
        for title, direction, other_end in (("Top inputs", "in", "src"), ("Top outputs", "out", "dst")):
            st.markdown(f"**{title}**")
            if shown[direction].note:  # why these are not direct weights, or what they mean
                st.info(plain(shown[direction].note))
            connection_cards(cat, shown[direction].edges, other_end, shown[direction].pooled)
    with curves:
        shown = [a for a in artifacts if a.kind == TUNING_ARTIFACT]
        for artifact in shown:
            tuning_curve(cat, artifact.params, artifact.blobs)
        if not shown:
            st.caption("No tuning curves yet (atlas compute tuning --model M --layer L --sweep orientation).")

with right:
    st.markdown("**Propose a label**")
    editor(cat, user, feature)
    with st.expander("Label history", expanded=True):
        for item in reversed(cat.label_history(address)):
            reason = f" — {plain(item.reason)}" if item.reason else ""
            st.markdown(f"v{item.version} · **{plain(item.text)}** · {item.status}{self_review(item)} · "
                        f"{plain(item.author)} · {item.created_at:%Y-%m-%d %H:%M}{reason}")
    st.markdown("**Circuits**")
    if can_write(user):
        add_to_circuit(cat, user, address, feature.model)
    for name in cat.circuits_of(address):
        circuit_link(name, f"in circuit {name}")

st.subheader("Evidence")
evidence.show(cat, cat.evidence(feature=address))
evidence.add_forms(cat, user, {"feature": address})
