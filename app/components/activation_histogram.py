"""A feature's activation histogram over the dataset, with its dataset examples marked.

The examples run records two distributions per feature (``atlas.catalog.histogram``): each
image's largest pre-activation over positions (what ranks the top examples) and its
smallest (what ranks the bottom ones). Both are drawn as bars on one pre-activation axis,
and each top and bottom example as a rule at its value, so a reader sees whether the top
examples are a few outliers far out in the tail or the edge of a broad bulk.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from atlas.catalog.records import ActivationDistribution, DatasetExamples

SERIES = {"max": "largest per image", "min": "smallest per image"}
MARKS = {"top": ("top example", "#e67e22"), "bottom": ("bottom example", "#8e44ad")}


def bars(spread: dict[str, ActivationDistribution]) -> pd.DataFrame:
    """One row per non-empty bin: its edges, its count and which distribution it is of."""
    return pd.DataFrame([
        {"from": low, "to": high, "images": count, "per image": SERIES[name]}
        for name, found in spread.items()
        for low, high, count in zip(found.edges, found.edges[1:], found.counts) if count
    ])


def summary(name: str, found: ActivationDistribution, marked: float | None, end: str) -> str:
    """``largest per image over 96 images: mean 2.1 · std 0.8 · median 2 · …; the top
    example (5.74) is in bin 31 of 40``: the figures a reader compares units by."""
    quantiles = dict(found.quantiles)
    figures = [f"mean {found.mean:.3g}", f"std {found.std:.3g}", f"min {found.minimum:.3g}"]
    figures += [f"{label} {quantiles[q]:.3g}" for q, label in ((0.5, "median"), (0.99, "99th percentile"))
                if q in quantiles]
    figures.append(f"max {found.maximum:.3g}")
    where = ("" if marked is None else
             f"; the {end} example ({marked:+.3g}) is in bin {found.bin_of(marked) + 1} of {len(found.counts)}")
    return f"{SERIES[name]} pre-activation over {found.count} images: " + " · ".join(figures) + where


def activation_histogram(found: DatasetExamples, key: str) -> None:
    """The histogram of one examples run, or a line saying the run recorded none."""
    if not found.distributions:
        st.caption("No activation histogram recorded with these examples (`atlas compute examples` "
                   "records one).")
        return
    rules = pd.DataFrame([{"value": item.value, "example": MARKS[end][0]}
                          for end, items in (("top", found.top), ("bottom", found.bottom))
                          for item in items if item.value is not None])
    counts = alt.Chart(bars(found.distributions)).mark_bar(opacity=0.6).encode(
        x=alt.X("from:Q", title="pre-activation"), x2="to:Q", y=alt.Y("images:Q", title="images"),
        color=alt.Color("per image:N", scale=alt.Scale(range=["#4c78a8", "#9d9d9d"])),
        tooltip=["from:Q", "to:Q", "images:Q", "per image:N"])
    layers = [counts]
    if not rules.empty:
        layers.append(alt.Chart(rules).mark_rule(strokeWidth=2).encode(
            x="value:Q", strokeDash=alt.StrokeDash("example:N"),
            stroke=alt.Stroke("example:N", scale=alt.Scale(domain=[m[0] for m in MARKS.values()],
                                                           range=[m[1] for m in MARKS.values()])),
            tooltip=["example:N", "value:Q"]))
    st.altair_chart(alt.layer(*layers).resolve_scale(color="independent").properties(height=180),
                    width="stretch", key=key)
    for name, end, items in (("max", "top", found.top), ("min", "bottom", found.bottom)):
        if name in found.distributions:
            first = items[0].value if items and items[0].value is not None else None
            st.caption(summary(name, found.distributions[name], first, end))
