"""Adding a unit to a circuit from its page: the circuits of the unit's own model come
first, and adding it to a circuit of other models asks for a second, explicit yes (a
circuit mixing models is usually a slip of the selectbox, not a claim of universality)."""

from __future__ import annotations

import streamlit as st

from atlas import Catalog
from atlas.catalog.records import UserInfo
from components.flash import attempt


def offered_circuits(circuit_models: dict[str, list[str]], model: str) -> list[str]:
    """Circuits with nodes of ``model`` first, then empty ones, then the others; by name within each."""
    def rank(name: str) -> tuple[int, str]:
        models = circuit_models[name]
        return (0 if model in models else 1 if not models else 2, name)
    return sorted(circuit_models, key=rank)


def add_to_circuit(cat: Catalog, user: UserInfo, address: str, model: str) -> None:
    circuit_models = cat.circuit_models()
    if not circuit_models:
        return
    names = offered_circuits(circuit_models, model)

    def caption(name: str) -> str:
        models = circuit_models[name]
        return f"{name} ({', '.join(models)})" if models else f"{name} (empty)"

    circuit = st.selectbox("Add to circuit", names, format_func=caption, key=f"add-circuit-name-{address}")
    others = [m for m in circuit_models[circuit] if m != model]
    confirmed = True
    if circuit_models[circuit] and model not in circuit_models[circuit]:
        st.warning(f"{circuit} holds units of {', '.join(others)}, not of {model}.")
        confirmed = st.checkbox(f"Add this {model} unit to it anyway", key=f"add-circuit-confirm-{address}")
    role = st.text_input("Role in the circuit (optional)", key=f"add-circuit-role-{address}")
    if st.button("Add to circuit", key=f"add-circuit-{address}", disabled=not confirmed):
        attempt(lambda: cat.add_circuit_node(circuit, address, role or None, author=user.name),
                f"Added to {circuit}.")
