"""Tuning curves: responses along parametric sweeps, their summaries, plots and storage."""

from atlas.compute.tuning.curves import SITE, TuningCurves, sized_sweep, tuning_curves
from atlas.compute.tuning.store import read_summary, store_tuning, tuning_blobs
from atlas.compute.tuning.summary import selectivity, summarize

__all__ = ["SITE", "TuningCurves", "read_summary", "selectivity", "sized_sweep", "store_tuning",
           "summarize", "tuning_blobs", "tuning_curves"]
