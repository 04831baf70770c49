"""A tuning curve in two numbers: the preferred stimulus and how selective the unit is.

The **preferred** value is the swept parameter where the measured response peaks (a
sampled value, never interpolated). **Selectivity** is in [0, 1], 0 for a flat curve and
1 for a unit that responds at a single condition; it is measured on the response above
the curve's own minimum (``r = response - min``), so a constant offset, such as a
pre-activation's bias, changes nothing:

- on a circular sweep of period ``cycle`` (orientation: 180 degrees, directions: 360), it
  is one minus the circular variance, ``|sum r_k exp(2 pi i x_k / cycle)| / sum r_k``: a
  unit that answers equally to an edge and its opposite polarity is fully orientation
  selective, since 180 degrees apart is the same orientation;
- on any other sweep, ``(max - mean) / (max - min)``: near 1 when one condition stands
  out, 0 for a flat curve.
"""

from __future__ import annotations

import numpy as np


def selectivity(values: np.ndarray, responses: np.ndarray, cycle: float | None) -> np.ndarray:
    """Selectivity of each row of ``responses`` (units x steps) over ``values`` (steps)."""
    r = responses - responses.min(axis=1, keepdims=True)
    if cycle is not None:
        phase = np.exp(2j * np.pi * np.asarray(values, dtype=np.float64) / cycle)
        spread, scale = np.abs(r @ phase), r.sum(axis=1)
    else:
        spread, scale = r.max(axis=1) - r.mean(axis=1), r.max(axis=1)
    flat = scale <= 0
    return np.clip(np.where(flat, 0.0, spread / np.where(flat, 1.0, scale)), 0.0, 1.0)


def summarize(values: np.ndarray, responses: np.ndarray, cycle: float | None) -> list[dict]:
    """Per row: ``preferred`` (the value at the peak), ``peak``, ``mean``, ``min`` and
    ``selectivity``, as JSON-ready floats."""
    responses = np.asarray(responses, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    sel = selectivity(values, responses, cycle)
    best = responses.argmax(axis=1)
    return [{"preferred": float(values[b]), "peak": float(row[b]), "mean": float(row.mean()),
             "min": float(row.min()), "selectivity": float(s)}
            for row, b, s in zip(responses, best, sel)]
