"""Review queue: proposed and disputed labels, oldest first. Reviewers accept or reject,
curators may dispute; each decision is a new label version with its reason, based on the
version shown, so a label that changed meanwhile is a conflict rather than a blind verdict.
(Decisions run as button callbacks: they carry the version of the run that drew them.)"""

import streamlit as st
from components.flash import remember
from components.label_editor import self_review
from components.links import unit_link
from components.text import plain
from components.thumbs import THUMBNAIL_PX, thumbnail
from identity import can_review, can_write
from session import page

from atlas import AtlasError, VersionConflict

DECISIONS = {"Accept": "accepted", "Reject": "rejected", "Dispute": "disputed"}

cat, user = page()


def decide(address: str, status: str, version: int) -> None:
    reason = st.session_state.get(f"review-reason-{address}") or None
    try:
        cat.review_label(address, status, reason, author=user.name, expected_version=version)
    except VersionConflict as exc:
        remember(f"{exc}. Review the newer version below.", error=True)
    except AtlasError as exc:
        remember(str(exc), error=True)
    else:
        remember(f"{address}: {status}.")


st.title("Review queue")
statuses = st.multiselect("Show", ["proposed", "disputed"], default=["proposed", "disputed"], key="review-statuses")
queue = cat.review_queue(statuses) if statuses else []
st.caption(f"{len(queue)} label{'s' if len(queue) != 1 else ''} waiting")
if not can_write(user):
    st.caption(f"{user.name} is a viewer: reviewers accept or reject, curators dispute.")
allowed = [d for d, s in DECISIONS.items() if can_review(user) or (s == "disputed" and can_write(user))]

thumbnails = {node.address: node.thumbnail for node in cat.subgraph([i.address for i in queue]).nodes}
for item in queue:
    with st.container(border=True):
        row = st.columns([1, 5, 4])
        row[0].image(thumbnail(cat, thumbnails.get(item.address)), width=THUMBNAIL_PX // 2)
        with row[1]:
            unit_link(item.address)
            st.markdown(f"**{plain(item.text)}** · {item.status}{self_review(item)} · v{item.version} by "
                        f"{plain(item.author)}"
                        + (f" — {plain(item.reason)}" if item.reason else ""))
        if not allowed:
            continue
        with row[2]:
            st.text_input("Reason", key=f"review-reason-{item.address}")
            buttons = st.columns(len(allowed))
            for column, decision in zip(buttons, allowed):
                column.button(decision, key=f"review-{decision}-{item.address}", on_click=decide,
                              args=(item.address, DECISIONS[decision], item.version))
