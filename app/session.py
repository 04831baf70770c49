"""What every page shares: the open catalogue and the acting user."""

import identity
import streamlit as st
from components.flash import show_flash

from atlas import Catalog
from atlas.catalog.records import UserInfo

ESTABLISHED = "established-user"


@st.cache_resource
def catalog() -> Catalog:
    """One catalogue (one connection pool) per server process, shared by all sessions."""
    return Catalog.open()


def establish() -> UserInfo:
    """Who this run acts as, decided once per run by main.py before the navigation (which
    offers admins the users page), and read by the page it runs."""
    user = identity.resolve(catalog().users())
    st.session_state[ESTABLISHED] = user
    return user


def page() -> tuple[Catalog, UserInfo]:
    """The start of every page: the catalogue acting as the user this session has
    established (so their writes are theirs, not an admin's on their behalf), who that is,
    and the confirmation of the write that caused this rerun, if any."""
    user = st.session_state[ESTABLISHED]
    show_flash()
    return catalog().as_user(user.name), user
