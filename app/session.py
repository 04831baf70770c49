"""What every page shares: the open catalogue and the acting user."""

import identity
import streamlit as st
from components.flash import show_flash

from atlas import Catalog
from atlas.catalog.records import UserInfo


@st.cache_resource
def catalog() -> Catalog:
    """One catalogue (one connection pool) per server process, shared by all sessions."""
    return Catalog.open()


def current_user(cat: Catalog) -> UserInfo:
    return identity.resolve(cat.users(), cat.user)


def page() -> tuple[Catalog, UserInfo]:
    """The start of every page: the catalogue acting as the user this session has
    established (so their writes are theirs, not an admin's on their behalf), who that is,
    and the confirmation of the write that caused this rerun, if any."""
    cat = catalog()
    user = current_user(cat)
    show_flash()
    return cat.as_user(user.name), user
