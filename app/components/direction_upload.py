"""Adding a direction to a layer from an uploaded vector file.

The file's bytes go to ``Catalog.add_direction_bytes``, which reads a ``.npy`` without
unpickling or a JSON list, checks one finite number per channel and a size limit, and
refuses anything else with one line (shown here as the error); curators and above only.
"""

from __future__ import annotations

import streamlit as st
from identity import can_write

from atlas import Catalog
from atlas.catalog import MAX_VECTOR_FILE_BYTES
from atlas.catalog.records import UserInfo
from components.flash import attempt
from components.links import unit_link

VECTOR_TYPES = ["npy", "json"]


def direction_form(cat: Catalog, user: UserInfo, layer: str) -> None:
    """The layer's directions, each a link to its page, and (for curators) a form that adds one
    from a file."""
    found = cat.directions(layer)
    st.caption(f"Directions of {layer} (each a feature with its own unit page):" if found
               else f"{layer} has no directions yet.")
    for column, direction in zip(st.columns(min(len(found), 6) or 1) * len(found), found):
        unit_link(direction.address, f"dir:{direction.direction}", column)
    if not can_write(user):
        return
    with st.expander("Add a direction from a file"), st.form(f"direction-{layer}", clear_on_submit=True):
        name = st.text_input("Name", key=f"direction-name-{layer}")
        limit_mb = MAX_VECTOR_FILE_BYTES // 2**20
        upload = st.file_uploader(f"One number per channel: .npy or a JSON list ({cat.layer(layer).channels}), "
                                  f"at most {limit_mb} MB", type=VECTOR_TYPES, key=f"direction-file-{layer}",
                                  max_upload_size=limit_mb)
        if st.form_submit_button("Add direction"):
            if upload is None:
                st.error("Choose a .npy or .json file first.")
                return
            attempt(lambda: cat.add_direction_bytes(layer, name.strip(), upload.getvalue(), upload.name,
                                                    author=user.name),
                    lambda added: f"Direction {added.address} added.")
