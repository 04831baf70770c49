"""Review queue: proposed and disputed labels, paged through all of them, filtered by model,
layer, status, author and age, oldest or newest first; the filters and the page live in the
URL. Reviewers accept or reject, curators may dispute; each decision is a new label version
with its reason, based on the version shown, so a label that changed meanwhile is a
conflict: the newer version is then shown in place of the one that was judged.
(Decisions run as button callbacks: they carry the version of the run that drew them.)"""

import math
from datetime import UTC, datetime, timedelta

import streamlit as st
from components.flash import remember
from components.label_editor import self_review
from components.links import unit_link
from components.text import plain
from components.thumbs import THUMBNAIL_PX, thumbnail
from components.url_state import url_multiselect, url_page_number, url_selectbox
from identity import can_review, can_write
from session import page

from atlas import AtlasError, VersionConflict
from atlas.catalog.records import LabelInfo

DECISIONS = {"Accept": "accepted", "Reject": "rejected", "Dispute": "disputed"}
WAITING = ("proposed", "disputed")
ANY = "any"
AGES = {ANY: (None, None), "last day": (None, timedelta(days=1)), "last week": (None, timedelta(days=7)),
        "last 30 days": (None, timedelta(days=30)), "older than a week": (timedelta(days=7), None),
        "older than 30 days": (timedelta(days=30), None)}
ORDERS = ("oldest first", "newest first")
PER_PAGE = 25

cat, user = page()


def decide(address: str, status: str, version: int) -> None:
    reason = st.session_state.get(f"review-reason-{address}") or None
    try:
        cat.review_label(address, status, reason, author=user.name, expected_version=version)
    except VersionConflict as exc:
        st.session_state[f"review-conflict-{address}"] = exc.current
        remember(f"{exc}. The newer version is shown in its place.", error=True)
    except AtlasError as exc:
        remember(str(exc), error=True)
    else:
        remember(f"{address}: {status}.")


def conflict_note(address: str) -> None:
    """What replaced the version a decision was based on, where that label stands."""
    newer: LabelInfo | None = st.session_state.pop(f"review-conflict-{address}", None)
    if newer is not None:
        st.warning(f"Changed while you were deciding: now v{newer.version} \"{plain(newer.text)}\" · "
                   f"{newer.status} by {plain(newer.author)}. Decide again on this version.")


st.title("Review queue")
top = st.columns([2, 2, 2, 2, 2, 2])
models = [m.name for m in cat.models()]
model = url_selectbox("Model", (ANY, *models), key="review-model", param="model", omit=ANY, container=top[0])
layers = [layer.name for layer in cat.layers(model)] if model != ANY else []
layer = url_selectbox("Layer", (ANY, *layers), key="review-layer", param="layer", omit=ANY, container=top[1])
statuses = url_multiselect("Status", WAITING, key="review-statuses", param="status", default=WAITING,
                           container=top[2])
authors = [u.name for u in cat.users()]
author = url_selectbox("Author", (ANY, *authors), key="review-author", param="author", omit=ANY, container=top[3])
age = url_selectbox("Written", tuple(AGES), key="review-age", param="age", omit=ANY, container=top[4])
order = url_selectbox("Order", ORDERS, key="review-order", param="order", container=top[5])

now = datetime.now(UTC)
older, newer = AGES[age]
filters = {"model": None if model == ANY else model, "layer": None if layer == ANY else layer,
           "author": None if author == ANY else author,
           "written_before": now - older if older else None, "written_after": now - newer if newer else None,
           "newest_first": order == "newest first"}
total = cat.review_queue(statuses, **filters, limit=1).total if statuses else 0
pages = max(1, math.ceil(total / PER_PAGE))
number = url_page_number("Page", pages, key="review-page")
queue = cat.review_queue(statuses, **filters, offset=(number - 1) * PER_PAGE, limit=PER_PAGE).items if total else []
first = (number - 1) * PER_PAGE + 1
st.caption(f"{total} label{'s' if total != 1 else ''} waiting"
           + (f"; showing {first}–{first + len(queue) - 1}" if queue else ""))
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
            conflict_note(item.address)
            st.markdown(f"**{plain(item.text)}** · {item.status}{self_review(item)} · v{item.version} by "
                        f"{plain(item.author)} · {item.created_at:%Y-%m-%d %H:%M}"
                        + (f" — {plain(item.reason)}" if item.reason else ""))
        if not allowed:
            continue
        with row[2]:
            st.text_input("Reason", key=f"review-reason-{item.address}")
            buttons = st.columns(len(allowed))
            for column, decision in zip(buttons, allowed):
                column.button(decision, key=f"review-{decision}-{item.address}", on_click=decide,
                              args=(item.address, DECISIONS[decision], item.version))
