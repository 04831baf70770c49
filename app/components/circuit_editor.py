"""Editing a circuit: its nodes, curated edges and falsifiable claims. Each write names
the acting user; the catalogue checks the role and audits it."""

from __future__ import annotations

from functools import partial

import streamlit as st
from identity import can_review, can_write

from atlas import Catalog
from atlas.catalog.records import CircuitInfo, UserInfo
from atlas.vocabulary import CLAIM_STATUSES
from components.blobview import show_blob
from components.flash import attempt
from components.links import unit_link
from components.text import plain
from components.thumbs import THUMBNAIL_PX, thumbnail


def nodes(cat: Catalog, user: UserInfo, info: CircuitInfo) -> None:
    """Each node as a reader knows it: its visualization, its address, its current label
    and status, and its role in the circuit."""
    known = {node.address: node for node in cat.subgraph([address for address, _ in info.nodes]).nodes}
    for address, role in info.nodes:
        node = known.get(address)
        row = st.columns([1, 4, 3, 1])
        row[0].image(thumbnail(cat, node.thumbnail if node else None), width=THUMBNAIL_PX // 2)
        unit_link(address, container=row[1])
        if node is not None and node.label:
            row[1].caption(f"{plain(node.label)} · {node.status}")
        else:
            row[1].caption("unlabelled")
        row[2].caption(plain(role) if role else "")
        if can_write(user) and row[2].button("Remove", key=f"remove-node-{address}"):
            attempt(partial(cat.remove_circuit_node, info.name, address, author=user.name), f"Removed {address}.")
    if can_write(user):
        with st.form("add-node", clear_on_submit=True):
            address = st.text_input("Unit address", key="circuit-add-address")
            role = st.text_input("Role (optional)", key="circuit-add-role")
            if st.form_submit_button("Add node"):
                attempt(lambda: cat.add_circuit_node(info.name, address, role or None, author=user.name),
                        f"Added {address}.")


def edges(cat: Catalog, user: UserInfo, info: CircuitInfo) -> None:
    for src, dst, note, sign in info.edges:
        row = st.columns([7, 1])
        said = f" ({sign})" if sign else ""
        row[0].markdown(f"`{src}` → `{dst}`{said}" + (f" — {plain(note)}" if note else ""))
        if can_write(user) and row[1].button("Remove", key=f"remove-edge-{src}-{dst}"):
            attempt(partial(cat.remove_circuit_edge, info.name, src, dst, author=user.name), "Edge removed.")
    addresses = [address for address, _role in info.nodes]
    if can_write(user) and len(addresses) >= 2:
        with st.form("add-edge", clear_on_submit=True):
            ends = st.columns(2)
            src = ends[0].selectbox("From", addresses, key="circuit-edge-src")
            dst = ends[1].selectbox("To", addresses, index=1, key="circuit-edge-dst")
            note = st.text_input("Note (optional)", key="circuit-edge-note")
            if st.form_submit_button("Add edge"):
                attempt(lambda: cat.add_circuit_edge(info.name, src, dst, note or None, author=user.name),
                        "Edge added.")


def experiment_runs(cat: Catalog, user: UserInfo, circuit: str, claim_id: int) -> None:
    """The claim's latest run (its plot and numbers), its history, and the button that
    queues another run for the workers (docs/experiments.md)."""
    runs = cat.claim_results(claim_id)
    if runs:
        latest = runs[0]
        show_blob(cat, latest.blobs[0], caption=f"{latest.verdict}: response before, after and under the control")
        with st.expander(f"Runs ({len(runs)})"):
            for run in runs:
                st.markdown(f"**{run.verdict}** · {run.created_at:%Y-%m-%d %H:%M} · {plain(run.author)}")
                st.caption(plain(str(run.result.get("summary", ""))))
            st.json(latest.result["reproduce"], expanded=False)
    if can_write(user) and st.button("Run experiment", key=f"claim-run-{claim_id}"):
        attempt(lambda: cat.enqueue_experiments(circuit, claim_id, author=user.name),
                "Experiment queued: a worker runs it (see Jobs); its result appears here.")


def claims(cat: Catalog, user: UserInfo, info: CircuitInfo) -> None:
    for claim in info.claims:
        with st.container(border=True):
            st.markdown(plain(claim.prediction))
            st.caption(f"{claim.status}" + (f" · result: {plain(claim.result)}" if claim.result else ""))
            if claim.experiment is not None:
                experiment_runs(cat, user, info.name, claim.id)
            if can_review(user):
                row = st.columns([2, 4, 1])
                status = row[0].selectbox("Status", CLAIM_STATUSES, index=CLAIM_STATUSES.index(claim.status),
                                          key=f"claim-status-{claim.id}")
                result = row[1].text_input("Result", value=claim.result or "", key=f"claim-result-{claim.id}")
                if row[2].button("Judge", key=f"claim-judge-{claim.id}"):
                    attempt(partial(cat.set_claim_status, claim.id, status, result or None, author=user.name),
                            "Claim judged.")
    if can_write(user):
        with st.form("add-claim", clear_on_submit=True):
            prediction = st.text_area("Prediction (falsifiable: what an edit of the weights will do)",
                                      key="circuit-claim")
            if st.form_submit_button("Add claim"):
                attempt(lambda: cat.add_claim(info.name, prediction, author=user.name), "Claim added.")
