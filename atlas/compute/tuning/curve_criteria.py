"""Which units are curve detectors: the criteria of the Curve Detectors article
(Cammarata et al., Distill 2020) as numbers on tuning curves, fixed before measuring.

The article calls a unit a curve detector when it responds to curves, is tuned smoothly
to the curve's orientation, and responds little to straight lines. Here, from a unit's
responses (one value per image, e.g. its largest pre-activation over positions) to a
``curve_orientation`` sweep over 360 degrees and a straight-line ``orientation`` sweep,
its response to a blank image (``baseline``) and a high percentile of its pre-activations
over natural photographs (``natural``), a unit qualifies when:

- (a) **curves over lines**: its curve gain (largest curve response minus the baseline)
  is positive and at least ``line_ratio`` times its line gain (largest line response
  minus the baseline; a line gain below zero counts as zero);
- (b) **smooth, single-peaked tuning**: the curve tuning correlates at least
  ``smoothness`` with itself smoothed circularly (a Gaussian of ``sigma_steps`` sweep
  steps), and the orientations where it is at least half way from its minimum to its
  maximum form one contiguous arc no wider than ``max_arc`` degrees;
- (c) **a real response**: its largest curve response reaches ``natural``, so the curve
  drives it as strongly as the top of what photographs do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CurveCriteria:
    """The thresholds (see the module doc)."""

    line_ratio: float = 2.0
    smoothness: float = 0.9
    sigma_steps: float = 1.0
    max_arc: float = 180.0


@dataclass(frozen=True)
class CurveVerdicts:
    """Per unit (arrays of the same length): the measured quantities and which criteria pass."""

    curve_gain: np.ndarray
    line_gain: np.ndarray
    smoothness: np.ndarray
    arc: np.ndarray  # degrees of the half-maximum arc; inf when it is not one arc
    curves_over_lines: np.ndarray
    smooth: np.ndarray
    real: np.ndarray

    @property
    def passes(self) -> np.ndarray:
        return self.curves_over_lines & self.smooth & self.real

    @property
    def ratio(self) -> np.ndarray:
        """Curve gain over line gain (inf where the line gain is not positive)."""
        line = np.maximum(self.line_gain, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(line > 0, self.curve_gain / np.where(line > 0, line, 1.0), np.inf)


def circular_smooth(rows: np.ndarray, sigma_steps: float) -> np.ndarray:
    """Each row convolved circularly with a Gaussian of ``sigma_steps`` samples."""
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    reach = max(1, int(np.ceil(3 * sigma_steps)))
    offsets = np.arange(-reach, reach + 1)
    weights = np.exp(-0.5 * (offsets / sigma_steps) ** 2)
    weights /= weights.sum()
    return sum(w * np.roll(rows, int(k), axis=1) for k, w in zip(offsets, weights))


def smoothness(rows: np.ndarray, sigma_steps: float) -> np.ndarray:
    """Pearson correlation of each row with its circular smoothing; 0 for a flat row."""
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    a = rows - rows.mean(axis=1, keepdims=True)
    s = circular_smooth(rows, sigma_steps)
    b = s - s.mean(axis=1, keepdims=True)
    scale = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.where(scale > 0, (a * b).sum(axis=1) / np.where(scale > 0, scale, 1.0), 0.0)


def half_max_arc(rows: np.ndarray, step_degrees: float) -> np.ndarray:
    """Width in degrees of the circular run of samples at least half way from each row's
    minimum to its maximum; inf when those samples form several runs or the row is flat."""
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    out = np.full(rows.shape[0], np.inf)
    for i, row in enumerate(rows):
        low, high = row.min(), row.max()
        if high <= low:
            continue
        above = row >= low + 0.5 * (high - low)
        starts = int((above & ~np.roll(above, 1)).sum())  # rising edges around the circle
        if starts == 1 or above.all():
            out[i] = float(above.sum()) * step_degrees
    return out


def curve_verdicts(curve: np.ndarray, line: np.ndarray, baseline: np.ndarray, natural: np.ndarray,
                   step_degrees: float, criteria: CurveCriteria = CurveCriteria()) -> CurveVerdicts:
    """The criteria for each unit: ``curve`` (units x orientations over 360 degrees, one
    every ``step_degrees``), ``line`` (units x line orientations), ``baseline`` and
    ``natural`` (units)."""
    curve, line = np.atleast_2d(np.asarray(curve, np.float64)), np.atleast_2d(np.asarray(line, np.float64))
    baseline, natural = np.asarray(baseline, np.float64), np.asarray(natural, np.float64)
    curve_gain, line_gain = curve.max(axis=1) - baseline, line.max(axis=1) - baseline
    smooth_r = smoothness(curve, criteria.sigma_steps)
    arc = half_max_arc(curve, step_degrees)
    return CurveVerdicts(
        curve_gain=curve_gain, line_gain=line_gain, smoothness=smooth_r, arc=arc,
        curves_over_lines=(curve_gain > 0) & (curve_gain >= criteria.line_ratio * np.maximum(line_gain, 0.0)),
        smooth=(smooth_r >= criteria.smoothness) & (arc <= criteria.max_arc),
        real=curve.max(axis=1) >= natural)
