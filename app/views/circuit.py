"""Circuit page: a named circuit as a graph with visualizations on its nodes, its nodes,
edges and claims to edit, its evidence, and exports in every format the CLI writes."""

from collections import Counter

import streamlit as st
from components import circuit_editor, evidence
from components.circuit_graph import draw
from components.links import from_url, open_circuit, unit_link
from identity import can_write
from session import page

from atlas import AtlasError
from atlas.exchange.export import FORMATS, render
from atlas.vocabulary import EDGE_KIND_NAMES

MIME = {"json": "application/json", "graphml": "application/xml", "cytoscape": "application/json",
        "dot": "text/vnd.graphviz", "svg": "image/svg+xml", "png": "image/png"}
EXTENSION = {"cytoscape": "cyjs"}

cat, user = page()
st.title("Circuits")
names = cat.circuits()
wanted = from_url("name", "circuit-name")
choice = st.selectbox("Circuit", names, index=names.index(wanted) if wanted in names else 0,
                      placeholder="No circuits yet")
if can_write(user):
    with st.expander("New circuit", expanded=not names), st.form("new-circuit"):
        new_name = st.text_input("Name", key="new-circuit-name")
        description = st.text_area("Description", key="new-circuit-description")
        if st.form_submit_button("Create circuit"):
            try:
                cat.create_circuit(new_name, description, author=user.name)
            except AtlasError as exc:
                st.error(str(exc))
            else:
                open_circuit(new_name)
if choice is None:
    st.stop()
if choice != wanted:
    st.query_params["name"] = choice
    st.session_state["circuit-name"] = choice

info = cat.circuit(choice)
st.header(info.name)
st.caption(f"{info.status} · version {info.version} by {info.author}")
if info.description:
    st.markdown(info.description)

graph = cat.circuit_graph(info.name)
if graph.edges:
    shown = Counter(edge.kind for edge in graph.edges)
    st.caption("Edges show " + ", ".join(f"{EDGE_KIND_NAMES[kind]} ({count})" for kind, count in sorted(shown.items()))
               + ": the expanded weights where stored, else the direct ones; excitatory or inhibitory by net.")
if graph.nodes:
    selected = draw(cat, graph, key=f"graph-{info.name}")
    for address in selected:
        unit_link(address, f"open {address}")
else:
    st.caption("No nodes yet: add units here or from a unit's page.")

nodes, edges, claims = st.tabs([f"Nodes ({len(info.nodes)})", f"Edges ({len(info.edges)})",
                                f"Claims ({len(info.claims)})"])
with nodes:
    circuit_editor.nodes(cat, user, info)
with edges:
    circuit_editor.edges(cat, user, info)
with claims:
    circuit_editor.claims(cat, user, info)

st.subheader("Evidence")
evidence.show(cat, cat.evidence(circuit=info.name))
evidence.add_forms(cat, user, {"circuit": info.name})

st.subheader("Export")
for column, fmt in zip(st.columns(len(FORMATS)), FORMATS):
    column.download_button(
        fmt.upper(), lambda fmt=fmt: render(graph, fmt, cat.blobs),
        file_name=f"{info.name}.{EXTENSION.get(fmt, fmt)}", mime=MIME[fmt],
        on_click="ignore", key=f"export-{fmt}",
    )
