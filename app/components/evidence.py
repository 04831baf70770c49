"""Evidence about a unit or a circuit: the list, and the forms that add to it.

Notes are Markdown rendered with ``unsafe_allow_html=False`` (Streamlit's default), so a
note holding ``<script>`` shows the tag as text. Links are checked by the catalogue (http
and https only) and opened with a link button, never rendered as HTML. Images go through
``Catalog.add_image_evidence``, which decodes and re-encodes them before storing.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from identity import can_write

from atlas import AtlasError, Catalog
from atlas.catalog import MAX_UPLOAD_BYTES
from atlas.catalog.records import EvidenceInfo, UserInfo
from components.blobview import show_blob
from components.flash import flash

UPLOAD_TYPES = ["png", "jpg", "jpeg"]


def show(cat: Catalog, items: list[EvidenceInfo]) -> None:
    if not items:
        st.caption("No evidence yet.")
    for item in items:
        with st.container(border=True):
            st.caption(f"{item.kind} · {item.author} · {item.created_at:%Y-%m-%d %H:%M}")
            if item.kind == "link":
                st.link_button(item.body[:80], item.body)
            elif item.body:
                st.markdown(item.body, unsafe_allow_html=False)
            for sha in item.blobs:
                show_blob(cat, sha)


def add_forms(cat: Catalog, user: UserInfo, target: dict[str, str]) -> None:
    """Forms to add a note, a link or an image to ``target`` (``{"feature": address}`` or
    ``{"circuit": name}``); viewers see why they cannot."""
    if not can_write(user):
        st.caption(f"{user.name} is a viewer: curators add evidence.")
        return
    key = "-".join(f"{k}={v}" for k, v in target.items())
    note, link, image = st.tabs(["Note", "Link", "Image"])
    with note, st.form(f"note-{key}", clear_on_submit=True):
        body = st.text_area("Note (Markdown)", key=f"note-body-{key}")
        if st.form_submit_button("Add note"):
            _save(lambda: cat.add_evidence("note", body, author=user.name, **target))
    with link, st.form(f"link-{key}", clear_on_submit=True):
        url = st.text_input("URL (http or https)", key=f"link-url-{key}")
        if st.form_submit_button("Add link"):
            _save(lambda: cat.add_evidence("link", url, author=user.name, **target))
    with image, st.form(f"image-{key}", clear_on_submit=True):
        limit_mb = MAX_UPLOAD_BYTES // 2**20  # the catalogue's limit, not Streamlit's 200 MB default
        upload = st.file_uploader(f"PNG or JPEG, at most {limit_mb} MB", type=UPLOAD_TYPES, key=f"image-file-{key}",
                                  max_upload_size=limit_mb)
        caption = st.text_input("Caption", key=f"image-caption-{key}")
        if st.form_submit_button("Add image"):
            if upload is None:
                st.error("Choose an image first.")
            else:
                _save(lambda: cat.add_image_evidence(upload.getvalue(), caption, author=user.name, **target))


def _save(write: Callable[[], object]) -> None:
    try:
        write()
    except AtlasError as exc:
        st.error(str(exc))
    else:
        flash("Evidence added.")
