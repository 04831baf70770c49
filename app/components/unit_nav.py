"""Moving around from a unit's page: a breadcrumb to its layer's grid (a URL naming the
model and layer, so the grid opens on it), and the previous and next unit of the layer by
button or key (arrows, or j and k as in many readers)."""

from __future__ import annotations

import streamlit as st
from identity import carried

from atlas import Catalog
from atlas.catalog.records import FeatureInfo

LAYER_PAGE = "views/layer.py"
KEYS = {"previous": ("Left", "K"), "next": ("Right", "J")}


def neighbours(cat: Catalog, feature: FeatureInfo) -> dict[str, str | None]:
    """The previous and next unit of the feature's layer (None at either end); a direction
    steps through the layer's directions by name."""
    layer = f"{feature.model}/{feature.layer}"
    if feature.channel is not None:
        channels, here = cat.layer(layer).channels, feature.channel
        return {"previous": f"{layer}/{here - 1}" if here > 0 else None,
                "next": f"{layer}/{here + 1}" if here + 1 < channels else None}
    names = sorted(d.direction for d in cat.directions(layer))
    here = names.index(feature.direction) if feature.direction in names else -1
    return {"previous": f"{layer}/{names[here - 1]}" if here > 0 else None,
            "next": f"{layer}/{names[here + 1]}" if 0 <= here < len(names) - 1 else None}


def _go(address: str) -> None:
    st.query_params["address"] = address


def unit_navigation(cat: Catalog, feature: FeatureInfo) -> None:
    row = st.columns([4, 1, 1, 1, 1])
    row[0].page_link(LAYER_PAGE, label=f"{feature.model} › {feature.layer} › {feature.address.rsplit('/', 1)[-1]}",
                     query_params={"model": feature.model, "layer": feature.layer, **carried()})
    around = neighbours(cat, feature)
    for column, (step, label) in zip(row[1:], (("previous", "← previous"), ("next", "next →"),
                                               ("previous", "k"), ("next", "j"))):
        target = around[step]
        arrow = label not in ("j", "k")
        column.button(label, key=f"unit-{step}-{'arrow' if arrow else 'letter'}", disabled=target is None,
                      shortcut=KEYS[step][0 if arrow else 1], on_click=_go, args=(target,),
                      help=f"{step} unit: {target}" if target else f"no {step} unit in this layer",
                      type="secondary" if arrow else "tertiary")
