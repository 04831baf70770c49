"""Who is using the app, and what their role lets them do.

Three ways to know the user, chosen by ``ATLAS_AUTH`` (see docs/app.md):

- ``pick`` (the default, for the embedded single-machine catalogue): the researcher picks
  a name from the users table in the sidebar. Convenient, and no security at all. The
  choice is kept in the URL (``?as=NAME``) and the session, so a reload, a new tab or a
  shared link keeps it; with none the user is an anonymous viewer, and an admin must be
  confirmed before the app acts as one.
- ``header``: a trusted reverse proxy (oauth2-proxy, an SSO gateway) authenticates people
  and passes the user name in a header (``ATLAS_AUTH_HEADER``, default
  ``X-Forwarded-User``). Only safe when the app is reachable through that proxy alone,
  and the proxy overwrites the header; a request carrying it twice is refused.
- ``oidc``: Streamlit's own ``st.login`` against an OpenID Connect provider configured in
  ``.streamlit/secrets.toml``; the ``ATLAS_AUTH_CLAIM`` claim (default ``email``, used
  only when the provider says ``email_verified``) names the user.

Whatever the mode, the name must be in the users table, whose role decides what the pages
offer. The catalogue checks roles again on every write, so a page that offered too much
would still be refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import streamlit as st

from atlas.catalog.records import UserInfo
from atlas.vocabulary import ROLES

MODES = ("pick", "header", "oidc")
DEFAULT_HEADER = "X-Forwarded-User"
DEFAULT_CLAIM = "email"
PICKED = "acting-user"
CONFIRMED = "confirmed-admin"
QUERY = "as"
NOBODY = "— pick who you are —"
ANONYMOUS = UserInfo("(anonymous)", "viewer")  # never a user: names have no parentheses


def can_write(user: UserInfo) -> bool:
    """Curators and above propose labels, add evidence and edit circuits."""
    return ROLES.index(user.role) >= ROLES.index("curator")


def can_admin(user: UserInfo) -> bool:
    """Admins manage users (add one, change a role)."""
    return user.role == "admin"


def can_review(user: UserInfo) -> bool:
    """Reviewers and admins accept or reject labels and judge circuit claims."""
    return ROLES.index(user.role) >= ROLES.index("reviewer")


class Refused(Exception):
    """A request whose identity cannot be trusted; the message says why."""


def refuse(message: str) -> NoReturn:
    """Show why, and act as nobody: the page stops before anything is read or written."""
    st.error(message)
    st.stop()


def known_user(name: str | None, users: Sequence[UserInfo], source: str) -> UserInfo:
    """The users-table entry for an authenticated name; stops the page otherwise."""
    match = next((u for u in users if u.name == name), None)
    if match is None:
        refuse(f"{source} names {name!r}, who is not a user of this catalogue: "
               "ask an admin to add you (`atlas user add`).")
    return match


def header_values(headers: Mapping[str, str], header: str) -> list[str]:
    """Every value the request gave ``header``. Streamlit's headers keep repeated ones,
    but their ``[]`` and ``get`` return only one of them; ``get_all`` returns all."""
    if hasattr(headers, "get_all"):
        return headers.get_all(header)
    return [value for key, value in headers.items() if key.lower() == header.lower()]


def name_in_header(headers: Mapping[str, str], header: str) -> str:
    """The user name the proxy put in ``header``, exactly one. A proxy that appends rather
    than overwrites leaves a client's own copy in the request, ahead of its own or joined
    to it with a comma, and reading that copy would let anyone pick who they are: so
    several values, or a comma in one, are refused (user names never contain commas)."""
    values = header_values(headers, header)
    if len(values) > 1 or any("," in value for value in values):
        raise Refused(f"the request carries the {header} header more than once: refused. "
                      "The authenticating proxy must overwrite this header, not append to it.")
    name = values[0].strip() if values else ""
    if not name:
        raise Refused(f"ATLAS_AUTH=header but the request has no {header} header: "
                      "open the app through the authenticating proxy.")
    return name


def user_from_headers(headers: Mapping[str, str], users: Sequence[UserInfo]) -> UserInfo:
    header = os.environ.get("ATLAS_AUTH_HEADER", DEFAULT_HEADER)
    try:
        name = name_in_header(headers, header)
    except Refused as exc:
        refuse(str(exc))
    return known_user(name, users, f"the {header} header")


def name_in_claims(claims: Mapping[str, Any], claim: str) -> str:
    """The user name in the login's ``claim``. An e-mail address is only an identity once
    the provider has verified it (``email_verified``): an unverified one is whatever the
    person typed at sign-up, perhaps a colleague's."""
    value = claims.get(claim)
    if claim == "email" and claims.get("email_verified") is not True:
        raise Refused("your login's e-mail address is not verified by the provider, so it "
                      "cannot name you: ask an admin to set ATLAS_AUTH_CLAIM to an immutable "
                      "claim such as 'sub'.")
    if not isinstance(value, str) or not value:
        raise Refused(f"your login has no {claim!r} claim to name you: ask an admin to set "
                      "ATLAS_AUTH_CLAIM to a claim your provider sends (e.g. 'sub').")
    return value


def user_from_oidc(users: Sequence[UserInfo]) -> UserInfo:
    if not st.user.is_logged_in:
        st.info("This catalogue is shared: log in to continue.")
        if st.button("Log in"):
            st.login()
        st.stop()
    claim = os.environ.get("ATLAS_AUTH_CLAIM", DEFAULT_CLAIM)
    st.sidebar.button("Log out", on_click=st.logout)
    try:
        name = name_in_claims(st.user, claim)
    except Refused as exc:
        refuse(str(exc))
    return known_user(name, users, f"your login's {claim!r}")


def picked_name(names: Sequence[str]) -> str | None:
    """The name picked: the URL's ``?as=`` (a reload, a new tab or a shared link), else
    this session's last pick. A name that is not a user (a typo, an old link, a hostile
    value) is refused in one line and nobody is picked."""
    name = st.query_params.get(QUERY) or st.session_state.get(PICKED)
    if not name or name in names:
        return name or None
    st.sidebar.warning(f"?{QUERY}={name[:64]!r} is not a user of this catalogue: "
                       "you are an anonymous viewer until you pick who you are.")
    return None


def keep_pick(name: str | None) -> None:
    """Remember the pick in the session and show it in the URL, where it survives a
    reload and travels with a copied link (page switches clear the URL's parameters)."""
    st.session_state[PICKED] = name
    if name:
        st.query_params[QUERY] = name
    else:
        st.query_params.pop(QUERY, None)


def confirm_admin(name: str) -> None:
    st.session_state[CONFIRMED] = name


def user_picked(users: Sequence[UserInfo]) -> UserInfo:
    """The sidebar picker. Streamlit resets a widget when the page changes, so the choice
    lives under a key of its own (and in the URL) and seeds the picker on every page. An
    admin is acted as only once confirmed in this session: a link with ``?as=`` an admin
    makes nobody an admin by being opened."""
    names = [u.name for u in users]
    current = picked_name(names)
    choice = st.sidebar.selectbox("You are", [NOBODY, *names],
                                  index=names.index(current) + 1 if current else 0)
    name = None if choice == NOBODY else choice
    keep_pick(name)
    if name is None:
        st.sidebar.caption("Pick who you are to label, review or edit.")
        return ANONYMOUS
    user = users[names.index(name)]
    if user.role != "admin" or st.session_state.get(CONFIRMED) == name:
        return user
    st.sidebar.warning(f"{name} is an admin: confirm before acting as them.")
    st.sidebar.button(f"Act as admin {name}", key="confirm-admin", on_click=confirm_admin, args=(name,))
    return ANONYMOUS


def carried() -> dict[str, str]:
    """The query parameter that links carry so a page opened in a new tab keeps the pick."""
    name = st.session_state.get(PICKED)
    return {QUERY: name} if name else {}


def resolve(users: Sequence[UserInfo]) -> UserInfo:
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
        user = user_picked(users)
    st.sidebar.caption(f"**{user.name}** · {user.role}")
    return user
