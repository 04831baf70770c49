"""Queueing the computes that make a layer's directions: the difference of two image
sets' mean activations, and the non-negative factorization of the layer's activations.

Curators and above only. Each form only queues a job (a worker, or ``atlas worker``,
computes it and writes the directions); image sets are the CLI's dataset specs
(``synthetic:N``, ``folder:PATH``, ``package:NAME``), parsed and checked here so that a bad one is one
error line and nothing is queued.
"""

from __future__ import annotations

import streamlit as st
from identity import can_write

from atlas import Catalog
from atlas.catalog.records import UserInfo
from atlas.compute.datasets.spec import parse_dataset
from atlas.vocabulary import MAX_FACTORS
from components.flash import attempt

DATASET_HELP = ("synthetic:N (N generated shapes), folder:PATH (images in a folder on the server) or "
                "package:NAME[:N] (the images an installed package ships, e.g. package:skimage:2000)")
DEFAULT_FACTORS = 8


def queued(ids: list[int]) -> str:
    """The confirmation of a queued direction job, saying who computes it."""
    return (f"Queued job #{ids[0]}; a worker (or `atlas worker`) computes it, "
            "then the directions appear here.")


def direction_job_forms(cat: Catalog, user: UserInfo, layer: str) -> None:
    """For curators: forms that queue a difference of means and a factorization of ``layer``."""
    if not can_write(user):
        return
    size = cat.model(cat.layer(layer).model).input_size
    with st.expander("Difference of means"), st.form(f"direction-diff-{layer}", clear_on_submit=True):
        name = st.text_input("Direction name", key=f"direction-diff-name-{layer}")
        with_feature = st.text_input("Images with the feature (A)", key=f"direction-diff-a-{layer}",
                                     help=DATASET_HELP)
        without = st.text_input("Images without it (B)", key=f"direction-diff-b-{layer}", help=DATASET_HELP)
        if st.form_submit_button("Queue difference of means"):
            attempt(lambda: cat.enqueue_direction_diff(layer, name.strip(), parse_dataset(with_feature.strip(), size),
                                                       parse_dataset(without.strip(), size), author=user.name),
                    queued)
    with st.expander("Factorize (NMF)"), st.form(f"direction-nmf-{layer}", clear_on_submit=True):
        n = st.number_input(f"Factors (1 to {MAX_FACTORS})", value=DEFAULT_FACTORS, step=1,
                            key=f"direction-nmf-n-{layer}")
        dataset = st.text_input("Images", "synthetic:512", key=f"direction-nmf-dataset-{layer}", help=DATASET_HELP)
        prefix = st.text_input("Name prefix (directions PREFIX<n>-<i>)", "nmf", key=f"direction-nmf-prefix-{layer}")
        if st.form_submit_button("Queue factorization"):
            attempt(lambda: cat.enqueue_direction_nmf(layer, int(n), parse_dataset(dataset.strip(), size),
                                                      prefix.strip() or "nmf", author=user.name),
                    queued)
