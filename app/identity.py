"""Who is using the app, and what their role lets them do.

Three ways to know the user, chosen by ``ATLAS_AUTH`` (see docs/app.md):

- ``pick`` (the default, for the embedded single-machine catalogue): the researcher picks
  a name from the users table in the sidebar. Convenient, and no security at all.
- ``header``: a trusted reverse proxy (oauth2-proxy, an SSO gateway) authenticates people
  and passes the user name in a header (``ATLAS_AUTH_HEADER``, default
  ``X-Forwarded-User``). Only safe when the app is reachable through that proxy alone.
- ``oidc``: Streamlit's own ``st.login`` against an OpenID Connect provider configured in
  ``.streamlit/secrets.toml``; the ``ATLAS_AUTH_CLAIM`` claim (default ``email``) names
  the user.

Whatever the mode, the name must be in the users table, whose role decides what the pages
offer. The catalogue checks roles again on every write, so a page that offered too much
would still be refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import streamlit as st

from atlas.db.models import ROLES
from atlas.records import UserInfo

MODES = ("pick", "header", "oidc")
DEFAULT_HEADER = "X-Forwarded-User"
DEFAULT_CLAIM = "email"
PICKED = "acting-user"


def can_write(user: UserInfo) -> bool:
    """Curators and above propose labels, add evidence and edit circuits."""
    return ROLES.index(user.role) >= ROLES.index("curator")


def can_review(user: UserInfo) -> bool:
    """Reviewers and admins accept or reject labels and judge circuit claims."""
    return ROLES.index(user.role) >= ROLES.index("reviewer")


def known_user(name: str | None, users: Sequence[UserInfo], source: str) -> UserInfo:
    """The users-table entry for an authenticated name; stops the page otherwise."""
    match = next((u for u in users if u.name == name), None)
    if match is None:
        st.error(f"{source} names {name!r}, who is not a user of this catalogue: "
                 "ask an admin to add you (`atlas user add`).")
        st.stop()
    return match


def user_from_headers(headers: Mapping[str, str], users: Sequence[UserInfo]) -> UserInfo:
    header = os.environ.get("ATLAS_AUTH_HEADER", DEFAULT_HEADER)
    name = headers.get(header)
    if not name:
        st.error(f"ATLAS_AUTH=header but the request has no {header} header: "
                 "open the app through the authenticating proxy.")
        st.stop()
    return known_user(name.strip(), users, f"the {header} header")


def user_from_oidc(users: Sequence[UserInfo]) -> UserInfo:
    if not st.user.is_logged_in:
        st.info("This catalogue is shared: log in to continue.")
        if st.button("Log in"):
            st.login()
        st.stop()
    claim = os.environ.get("ATLAS_AUTH_CLAIM", DEFAULT_CLAIM)
    st.sidebar.button("Log out", on_click=st.logout)
    return known_user(st.user.get(claim), users, f"your login's {claim!r}")


def user_picked(users: Sequence[UserInfo], default: str) -> UserInfo:
    """The sidebar picker. Streamlit resets a widget when the page changes, so the choice
    lives under a key of its own and seeds the picker's index on every page."""
    names = [u.name for u in users]
    chosen = st.session_state.get(PICKED, default)
    name = st.sidebar.selectbox("You are", names, index=names.index(chosen) if chosen in names else 0)
    st.session_state[PICKED] = name
    return users[names.index(name)]


def resolve(users: Sequence[UserInfo], default: str) -> UserInfo:
    mode = os.environ.get("ATLAS_AUTH", "pick")
    if mode not in MODES:
        st.error(f"ATLAS_AUTH={mode!r} is not one of {', '.join(MODES)}")
        st.stop()
    if not users:
        st.warning("This catalogue has no users yet: run `atlas init`.")
        st.stop()
    if mode == "header":
        user = user_from_headers(st.context.headers, users)
    elif mode == "oidc":
        user = user_from_oidc(users)
    else:
        user = user_picked(users, default)
    st.sidebar.caption(f"**{user.name}** · {user.role}")
    return user
