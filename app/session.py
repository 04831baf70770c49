"""What every page shares: the open catalogue and the acting user."""

import streamlit as st

from atlas import Catalog


@st.cache_resource
def catalog() -> Catalog:
    return Catalog.open()


def current_user(cat: Catalog) -> str:
    """On the embedded catalogue the researcher picks who they are in the sidebar."""
    users = cat.users()
    names = [u.name for u in users]
    if not names:
        st.sidebar.warning("No users yet: run `atlas init`.")
        st.stop()
    default = names.index(cat.user) if cat.user in names else 0
    name = st.sidebar.selectbox("You are", names, index=default, key="user")
    role = next(u.role for u in users if u.name == name)
    st.sidebar.caption(f"role: {role}")
    return name
