"""The curve-detector criteria (atlas/compute/tuning/curve_criteria.py) on hand-built
tuning curves: each criterion fails the unit it is meant to fail, and only that one."""

import numpy as np

from atlas.compute.tuning.curve_criteria import (
    CurveCriteria,
    circular_smooth,
    curve_verdicts,
    half_max_arc,
    smoothness,
)

STEP = 10.0
ANGLES = np.deg2rad(np.arange(0, 360, STEP))
BASELINE = -1.0  # a pre-activation's response to a blank image may be negative


def tuned(preferred_degrees: float, height: float = 4.0, kappa: float = 2.0) -> np.ndarray:
    """A smooth von Mises bump over 360 degrees, resting at the baseline."""
    bump = np.exp(kappa * (np.cos(ANGLES - np.deg2rad(preferred_degrees)) - 1))
    return BASELINE + height * bump


def verdicts(curves: list[np.ndarray], line_peaks: list[float], natural: float = 2.0):
    lines = np.array([[BASELINE, peak] for peak in line_peaks])
    n = len(curves)
    return curve_verdicts(np.stack(curves), lines, np.full(n, BASELINE), np.full(n, natural), STEP)


def test_smooth_curve_preferring_unit_passes_every_criterion():
    v = verdicts([tuned(90)], [BASELINE + 1.0])
    assert v.curves_over_lines[0] and v.smooth[0] and v.real[0] and v.passes[0]
    assert v.ratio[0] == 4.0
    assert v.smoothness[0] > 0.99 and v.arc[0] <= 180


def test_line_preferring_unit_fails_only_the_line_criterion():
    v = verdicts([tuned(90)], [BASELINE + 3.0])  # curve gain 4 < 2 x line gain 3
    assert not v.curves_over_lines[0] and not v.passes[0]
    assert v.smooth[0] and v.real[0]


def test_a_line_gain_below_the_baseline_counts_as_zero():
    v = verdicts([tuned(0)], [BASELINE - 5.0])
    assert v.curves_over_lines[0] and v.ratio[0] == np.inf


def test_noisy_unit_fails_smoothness():
    rng = np.random.default_rng(0)
    noisy = BASELINE + 4.0 * rng.random(len(ANGLES))
    v = verdicts([noisy], [BASELINE + 0.5])
    assert v.curves_over_lines[0] and v.real[0]
    assert v.smoothness[0] < CurveCriteria().smoothness and not v.smooth[0] and not v.passes[0]


def test_two_peaked_unit_fails_the_single_arc_rule():
    two = BASELINE + (tuned(0) - BASELINE) + (tuned(180) - BASELINE)
    v = verdicts([two], [BASELINE])
    assert v.smoothness[0] > 0.9  # smooth, but not one peak
    assert v.arc[0] == np.inf and not v.smooth[0] and not v.passes[0]


def test_broadly_tuned_unit_fails_the_arc_width():
    broad = BASELINE + 4.0 * np.sqrt((1 + np.cos(ANGLES)) / 2)  # half maximum at +-120 degrees
    assert 180 < half_max_arc(broad, STEP)[0] < 260  # about -120..+120 degrees
    assert not verdicts([broad], [BASELINE]).smooth[0]


def test_weak_response_fails_the_natural_image_criterion():
    v = verdicts([tuned(45, height=1.0)], [BASELINE], natural=2.0)
    assert v.curves_over_lines[0] and v.smooth[0] and not v.real[0] and not v.passes[0]


def test_flat_curves_are_neither_smooth_nor_single_peaked():
    flat = np.zeros((1, len(ANGLES)))
    assert smoothness(flat, 1.0)[0] == 0.0
    assert half_max_arc(flat, STEP)[0] == np.inf


def test_circular_smoothing_wraps_around_and_keeps_the_mean():
    spike = np.zeros((1, 36))
    spike[0, 0] = 1.0
    smoothed = circular_smooth(spike, 1.0)
    assert smoothed[0, 35] == smoothed[0, 1] > 0
    assert np.isclose(smoothed.sum(), 1.0)
