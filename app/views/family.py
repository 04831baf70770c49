"""Family page (``/family?name=…``): a family's members (channel visualizations, labels,
links), the families related to it elsewhere (measured, with their score; or published,
with their source and no score), each member's
analogous units in other models (stored by `atlas compare`), and its evidence. Evidence
attaches to units, circuits and edges, not to families, so the members' evidence is
counted here."""

import streamlit as st
from components.links import family_link, from_url, unit_link
from components.matches import stimuli_text, unit_card
from components.text import plain
from session import page

from atlas.address import parse_feature

ANALOGUES_SHOWN = 8
COLUMNS = 4

cat, user = page()
st.title("Families")
names = cat.family_names()
if not names:
    st.info("No families yet: a seed file (`atlas import seed`) or `Catalog.create_family` makes them.")
    st.stop()
# The family is the URL's (a link from a unit, a search hit or another family), else this
# session's last; the selectbox follows it, as the circuit page's does.
wanted = from_url("name", "family-name")
if wanted and wanted not in names:
    st.warning(f"No family named {plain(wanted[:64])}: showing another.")
name = st.selectbox("Family", names, index=names.index(wanted) if wanted in names else 0)
if name != wanted:
    st.query_params["name"] = name
    st.session_state["family-name"] = name
info = cat.family(name)
st.header(info.name)
if info.layer:
    st.caption(f"units of {info.layer}")
if info.description:
    st.markdown(info.description)

members = [address for address, _ in info.members]
notes = dict(info.members)
nodes = {node.address: node for node in cat.subgraph(members).nodes} if members else {}
st.subheader(f"Members ({len(members)})")
if not members:
    st.caption("No members yet.")
for start in range(0, len(members), COLUMNS):
    for column, address in zip(st.columns(COLUMNS), members[start:start + COLUMNS]):
        with column.container(border=True):
            unit_card(cat, nodes[address], examples=False)
            if notes[address]:
                st.caption(plain(notes[address]))

st.subheader("Related families")
related = cat.family_relations(info.name)
if not related:
    st.caption("None stored.")
for r in related:
    other = r.dst if r.src == info.name else r.src
    # From this family to the other (→) or back (←): "inputs of" has a direction.
    how = f"{'→' if r.src == info.name else '←'} {r.relation.replace('_', ' ')}"
    with st.container(border=True):
        row = st.columns([3, 5])
        family_link(other, container=row[0])
        if r.published:  # stated by a source, not measured: no score to show
            note = (r.details or {}).get("note")
            row[1].caption(f"{how} · published, not measured" + (f" · {plain(note)}" if note else ""))
            row[1].link_button(f"source: {(r.source or '')[:80]}", r.source or "")
        else:
            row[1].caption(f"{how} · {r.score:.3f} · {r.method} · {plain(stimuli_text(r.stimuli))}")

st.subheader("Analogous units in other models")
for address in members:
    model = parse_feature(address).model
    analogues = []
    for r in cat.analogues(address):
        other = r.dst if r.src == address else r.src
        if parse_feature(other).model != model:
            analogues.append((other, r))
    with st.container(border=True):
        unit_link(address)
        if not analogues:
            st.caption("None measured (`atlas compare`, or the Compare page).")
        for other, r in analogues[:ANALOGUES_SHOWN]:
            row = st.columns([3, 5])
            unit_link(other, container=row[0])
            row[1].caption(f"{r.score:.3f} · {r.method} · {plain(stimuli_text(r.stimuli))}")
        if len(analogues) > ANALOGUES_SHOWN:
            st.caption(f"and {len(analogues) - ANALOGUES_SHOWN} more.")

st.subheader("Evidence")
st.caption("Evidence attaches to units, circuits and edges, not to families: the members' evidence.")
st.dataframe([{"member": address, "evidence": len(cat.evidence(feature=address))} for address in members],
             hide_index=True)
