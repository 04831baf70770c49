"""Proposing a label, and resolving a conflict when someone else saved first.

Every edit is based on the version the curator was looking at: the page remembers the
version it showed (``label-base:<address>``) and the save names it as
``expected_version``. Rereading the label at save time would silently overwrite a newer
version; instead a stale save raises VersionConflict, and the curator sees the newer text
and chooses to re-apply theirs, merge the two, or drop theirs. No update is lost.
"""

from __future__ import annotations

import streamlit as st
from identity import can_review, can_write

from atlas import AtlasError, Catalog, VersionConflict
from atlas.catalog.records import FeatureInfo, LabelInfo, UserInfo
from atlas.vocabulary import LABEL_STATUSES
from components.flash import flash
from components.text import plain

CURATOR_STATUSES = ("proposed", "disputed")


def _keys(address: str) -> tuple[str, str]:
    return f"label-base:{address}", f"label-conflict:{address}"


def _save(cat: Catalog, user: UserInfo, address: str, edit: dict, base: int) -> None:
    """Save ``edit`` based on version ``base``; a conflict is kept for the panel."""
    base_key, conflict_key = _keys(address)
    try:
        saved = cat.set_label(address, author=user.name, expected_version=base, **edit)
    except VersionConflict as exc:
        st.session_state[conflict_key] = {"mine": edit, "theirs": exc.current, "version": exc.current_version}
        st.session_state[base_key] = exc.current_version
        st.rerun()
    except AtlasError as exc:
        st.error(str(exc))
        return
    st.session_state.pop(conflict_key, None)
    st.session_state[base_key] = saved.version
    flash(f"Saved version {saved.version}.")


def editor(cat: Catalog, user: UserInfo, feature: FeatureInfo) -> None:
    if not can_write(user):
        st.caption(f"{user.name} is a viewer: curators propose labels.")
        return
    address, label = feature.address, feature.label
    base_key, conflict_key = _keys(address)
    base = st.session_state.setdefault(base_key, feature.label_version)
    if conflict_key in st.session_state:
        conflict_panel(cat, user, address, st.session_state[conflict_key])
        return
    statuses = LABEL_STATUSES if can_review(user) else CURATOR_STATUSES
    with st.form(f"label-{address}"):
        text = st.text_input("Label", value=label.text if label else "", key=f"label-text:{address}")
        status = st.selectbox("Status", statuses, key=f"label-status:{address}")
        confidence = st.slider("Confidence", 0.0, 1.0, (label.confidence or 0.5) if label else 0.5,
                               step=0.05, key=f"label-confidence:{address}")
        reason = st.text_input("Reason or note (optional)", key=f"label-reason:{address}")
        if st.form_submit_button("Save label"):
            _save(cat, user, address, {"text": text, "status": status, "confidence": confidence,
                                       "reason": reason or None}, base)
    # What the curator now sees is what their next edit is based on.
    st.session_state[base_key] = feature.label_version


def conflict_panel(cat: Catalog, user: UserInfo, address: str, conflict: dict) -> None:
    mine, theirs = conflict["mine"], conflict["theirs"]
    _base_key, conflict_key = _keys(address)
    st.error(_conflict_message(theirs, conflict["version"]))
    st.markdown(f"Yours: **{plain(mine['text'])}** ({mine['status']})")
    merged = st.text_input("Merged label", value=_merge(theirs, mine["text"]), key=f"merge-{address}")
    columns = st.columns(3)
    if columns[0].button("Re-apply mine", key=f"reapply-{address}"):
        _save(cat, user, address, mine, conflict["version"])
    if columns[1].button("Save merged", key=f"save-merged-{address}"):
        _save(cat, user, address, {**mine, "text": merged}, conflict["version"])
    if columns[2].button("Keep theirs", key=f"drop-{address}"):
        st.session_state.pop(conflict_key)
        st.session_state.pop(f"label-text:{address}", None)
        st.rerun()


def _conflict_message(theirs: LabelInfo | None, version: int) -> str:
    if theirs is None:
        return f"Someone changed this label while you were editing (now version {version})."
    return (f"{theirs.author} saved version {version} while you were editing: "
            f"“{plain(theirs.text)}” ({theirs.status}).")


def self_review(label: LabelInfo) -> str:
    """The mark after a decision made by the author of the text it judges, so that nobody
    takes it for an independent review."""
    return " (self-review)" if label.self_review else ""


def _merge(theirs: LabelInfo | None, mine: str) -> str:
    if theirs is None or theirs.text == mine:
        return mine
    return f"{theirs.text} / {mine}"
