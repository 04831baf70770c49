"""Showing a stored blob whatever it holds: images as pictures, arrays as plots.

Evidence and artifacts refer to blobs by hash only; what a blob holds is known from its
first bytes (``.npy`` arrays start with a fixed magic string). Arrays are tuning curves
and experiment results: a 1-D array is one curve over its index; a 2-D array of n rows
and k columns is k-1 curves whose x values are the first column (``names`` label them).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import streamlit as st

from atlas import Catalog
from components.thumbs import blob_bytes

NPY_MAGIC = b"\x93NUMPY"


def curves(array: np.ndarray, x_label: str = "x", names: list[str] | None = None) -> pd.DataFrame:
    """The chart data of an array (see the module docstring)."""
    values = np.asarray(array, dtype=np.float64)
    if values.ndim == 1:
        return pd.DataFrame({names[0] if names else "value": values}).rename_axis(x_label)
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError(f"cannot plot an array of shape {values.shape}")
    columns = names if names and len(names) == values.shape[1] - 1 else [
        f"series {i}" for i in range(1, values.shape[1])
    ]
    return pd.DataFrame(values[:, 1:], index=pd.Index(values[:, 0], name=x_label), columns=columns)


def show_blob(cat: Catalog, sha: str, caption: str | None = None, params: dict | None = None) -> None:
    data = blob_bytes(cat, sha)
    if not data.startswith(NPY_MAGIC):
        st.image(data, caption=caption)
        return
    params = params or {}
    array = np.load(io.BytesIO(data), allow_pickle=False)
    try:
        st.line_chart(curves(array, params.get("x_label", "x"), params.get("names")))
    except ValueError as exc:
        st.warning(f"{caption or sha[:12]}: {exc}")
        return
    if caption:
        st.caption(caption)
