"""The stored graph around units (``/graph?address=…&hops=…&kinds=…``) and the paths from
one unit to another (``/graph?from=…&to=…&hops=…``): what ``atlas graph neighbourhood``
and ``atlas graph paths`` print, drawn with the circuit page's graph (visualizations on
the nodes, edges coloured by sign). Every value comes from the URL or the form and goes
to the ``Catalog``, which refuses a bad address, an unknown edge kind or a hop count
beyond ``MAX_HOPS`` in one line, shown here as the error."""

import streamlit as st
from components.circuit_graph import draw
from components.links import unit_link
from components.text import plain
from components.url_state import url_multiselect, url_selectbox
from session import page

from atlas import AtlasError
from atlas.catalog import MAX_HOPS
from atlas.vocabulary import EDGE_KIND_NAMES, EDGE_KINDS

MODES = ("neighbourhood", "paths")
DIRECTIONS = ("both", "in", "out")
K_PER_NODE = 10

cat, user = page()
st.title("Graph")
params = st.query_params
if "graph-mode" not in st.session_state and "from" in params:
    st.session_state["graph-mode"] = "paths"
top = st.columns([2, 3, 2, 2])
mode = top[0].radio("Show", MODES, key="graph-mode", horizontal=True)
kinds = url_multiselect("Edge kinds", EDGE_KINDS, key="graph-kinds", param="kinds", default=["direct"],
                        container=top[1])
raw_hops = params.get("hops", "1" if mode == "neighbourhood" else "3")
try:
    hops = int(raw_hops)
except ValueError:
    st.error(f"hops must be an integer from 1 to {MAX_HOPS}, not {raw_hops[:40]!r}")
    st.stop()
hops_label = f"Hops (at most {MAX_HOPS})" if mode == "neighbourhood" else f"Longest path (edges, at most {MAX_HOPS})"
hops = int(top[2].number_input(hops_label, value=hops, step=1, key=f"graph-hops-{mode}"))
params["hops"] = str(hops)
if mode == "neighbourhood":
    direction = url_selectbox("Direction", DIRECTIONS, key="graph-direction", param="direction", container=top[3])
    address = st.text_input("Unit address (model/layer/unit)", value=params.get("address", ""), key="graph-address")
    ends = [address]
else:
    row = st.columns(2)
    ends = [row[0].text_input("From", value=params.get("from", ""), key="graph-from"),
            row[1].text_input("To", value=params.get("to", ""), key="graph-to")]
if not all(ends):
    st.info("Type a unit's address (or open this page from a unit's \"neighbourhood graph\" link)."
            if mode == "neighbourhood" else "Type the two units the paths run between.")
    st.stop()
try:
    if mode == "neighbourhood":
        graph = cat.neighbourhood(address, hops, K_PER_NODE, 0.0, kinds, direction)
    else:
        graph = cat.paths(ends[0], ends[1], hops, kinds)
except AtlasError as exc:
    st.error(str(exc))
    st.stop()
for param, value in zip(("address",) if mode == "neighbourhood" else ("from", "to"), ends):
    params[param] = value.strip()
for stale in (("from", "to") if mode == "neighbourhood" else ("address", "direction")):
    params.pop(stale, None)

shown = ", ".join(EDGE_KIND_NAMES[kind] for kind in kinds)
if mode == "neighbourhood":
    st.caption(f"{len(graph.nodes)} units and {len(graph.edges)} edges ({shown}) within {hops} hop"
               f"{'s' if hops != 1 else ''} of {ends[0]}, {direction}, each unit's {K_PER_NODE} strongest.")
else:
    st.caption(f"{len(graph.paths)} path{'s' if len(graph.paths) != 1 else ''} of at most {hops} edges "
               f"({shown}) from {ends[0]} to {ends[1]}.")
    for path in graph.paths:
        st.markdown(" → ".join(f"`{step}`" for step in path))
if graph.edges:
    for selected in draw(cat, graph, key=f"graph-{mode}-{'-'.join(ends)}-{hops}-{'-'.join(kinds)}"):
        unit_link(selected, f"open {selected}")
else:
    st.caption("No stored edges of these kinds here.")
st.markdown("**Units**")
for node in sorted(graph.nodes, key=lambda n: (n.model, n.layer_order, n.address)):
    unit_link(node.address, node.address + (f" · {plain(node.label)}" if node.label else ""))
