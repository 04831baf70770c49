"""Parametric sweeps: each sweep's images vary as its name says, measured from the pixels
(gradient orientation, fitted curvature, Fourier peak, hue, centroids, area), and a bad
spec is one line without torch."""

from __future__ import annotations

import colorsys
import subprocess
import sys

import numpy as np
import pytest

from atlas.compute.datasets.sweep_spec import MAX_SWEEP_STEPS, SWEEPS, check_sweep, sweep_values
from atlas.compute.datasets.sweeps import conditions, iter_sweep, sweep_images
from atlas.errors import InvalidInput

SIZE = 64
LUMA = np.array([0.299, 0.587, 0.114])


def luminance(image) -> np.ndarray:
    """HxW luminance of a (3, H, W) tensor."""
    return np.tensordot(LUMA, image.numpy().astype(np.float64), axes=1)


def coords() -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres with the origin at the image centre, x right, y UP."""
    c = np.arange(SIZE) + 0.5 - SIZE / 2
    x, y = np.meshgrid(c, c)
    return x, -y


def gradients(lum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d/dx and d/dy with y up."""
    d_row, d_col = np.gradient(lum)
    return d_col, -d_row


def angle_error(measured: float, expected: float, period: float = 360.0) -> float:
    return abs((measured - expected + period / 2) % period - period / 2)


def direction(vx: float, vy: float) -> float:
    return float(np.degrees(np.arctan2(vy, vx)) % 360)


def smooth(lum: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Gaussian blur (edges padded by repetition): gradients of a blurred image are free of
    the bias that a pixel-sharp edge gives finite differences."""
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(lum, radius, mode="edge")
    rows = np.apply_along_axis(np.convolve, 1, padded, kernel, mode="valid")
    return np.apply_along_axis(np.convolve, 0, rows, kernel, mode="valid")


def stripe_orientation(lum: np.ndarray) -> float:
    """The orientation (mod 180) of the structure: perpendicular to the dominant gradient
    axis of the structure tensor (of the blurred image)."""
    gx, gy = gradients(smooth(lum))
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    gradient_axis = 0.5 * np.degrees(np.arctan2(2 * jxy, jxx - jyy))
    return float((gradient_axis + 90) % 180)


def centroid(weight: np.ndarray) -> tuple[float, float]:
    x, y = coords()
    return float((weight * x).sum() / weight.sum()), float((weight * y).sum() / weight.sum())


def stroke(image) -> np.ndarray:
    """How much of each pixel the light shape covers (the background is 0.2, the shape 0.8)."""
    return np.clip((luminance(image) - 0.2) / 0.6, 0, 1)


def fitted_circle(weight: np.ndarray) -> tuple[float, float, float]:
    """Centre (x, y up) and curvature (1 / radius in image widths) of the circle fitted to
    the stroke: Kasa's algebraic fit
    (least squares of x^2 + y^2 + D x + E y + F), refined by Gauss-Newton on the weighted
    geometric distances (the algebraic fit is biased to small circles on a short arc)."""
    x, y, w = (v.ravel() for v in (*coords(), weight))
    keep = w > 0
    x, y, w = x[keep], y[keep], w[keep]
    a = np.stack([x, y, np.ones(x.size)], 1) * np.sqrt(w)[:, None]
    (d, e, f), *_ = np.linalg.lstsq(a, -(x * x + y * y) * np.sqrt(w), rcond=None)
    cx, cy = -d / 2, -e / 2
    radius = np.sqrt(cx * cx + cy * cy - f)
    for _ in range(50):
        dist = np.hypot(x - cx, y - cy)
        jacobian = np.stack([-(x - cx) / dist, -(y - cy) / dist, -np.ones(x.size)], 1) * np.sqrt(w)[:, None]
        step, *_ = np.linalg.lstsq(jacobian, -(dist - radius) * np.sqrt(w), rcond=None)
        cx, cy, radius = cx + step[0], cy + step[1], radius + step[2]
    return cx, cy, SIZE / radius


def images(name: str, steps: int, **options):
    batch, conds = sweep_images(name, steps, SIZE, **options)
    assert batch.shape == (steps, 3, SIZE, SIZE) and 0 <= float(batch.min()) and float(batch.max()) <= 1
    parameter = SWEEPS.get(name).parameter
    return list(zip(batch, [c[parameter] for c in conds]))


def test_edge_orientation_follows_the_parameter_with_its_polarity():
    for image, theta in images("orientation", 24):
        gx, gy = gradients(luminance(image))
        # The mean gradient points from dark to light: at orientation + 90 degrees.
        assert angle_error(direction(gx.sum(), gy.sum()), theta + 90) < 1.0, theta
        assert angle_error(stripe_orientation(luminance(image)), theta, 180) < 1.0, theta


@pytest.mark.parametrize("stimulus", ["line", "grating"])
def test_line_and_grating_orientation_follows_the_parameter(stimulus):
    measured = images("orientation", 12, stimulus=stimulus)
    assert [theta for _, theta in measured] == pytest.approx([15.0 * i for i in range(12)])
    for image, theta in measured:
        assert angle_error(stripe_orientation(luminance(image)), theta, 180) < 2.0, (stimulus, theta)


def test_curvature_is_the_fitted_circles():
    measured = images("curvature", 5, orientation=30.0)
    straight = stroke(measured[0][0])
    x, y = coords()
    cx, cy = centroid(straight)
    spread = np.cov(np.stack([x.ravel() - cx, y.ravel() - cy]), aweights=straight.ravel())
    (minor, major), vectors = np.linalg.eigh(spread)
    assert minor / major < 0.01  # curvature 0 is a straight stroke ...
    assert angle_error(direction(*vectors[:, 1]), 120.0, 180) < 1.0  # ... across the 30-degree bulge
    for image, kappa in measured[1:]:
        cx, cy, fitted = fitted_circle(stroke(image))
        assert fitted == pytest.approx(kappa, rel=0.05), kappa
        assert angle_error(direction(-cx, -cy), 30.0) < 1.0  # from the circle's centre to the arc


def test_curve_orientation_is_where_the_curve_bulges():
    for image, theta in images("curve_orientation", 16):
        cx, cy, fitted = fitted_circle(stroke(image))
        assert angle_error(direction(-cx, -cy), theta) < 1.0, theta
        assert fitted == pytest.approx(4.0, rel=0.05)


def test_frequency_is_the_fourier_peak():
    measured = images("frequency", 5, orientation=90.0)
    assert [f for _, f in measured] == pytest.approx([1, 2, 4, 8, 16])  # log steps up to a 4 px period
    for image, freq in measured:
        lum = luminance(image)
        spectrum = np.abs(np.fft.fft2(lum - lum.mean()))
        fy, fx = np.unravel_index(np.argmax(spectrum), spectrum.shape)
        fx, fy = (min(fx, SIZE - fx), min(fy, SIZE - fy))
        assert (fx, fy) == (round(freq), 0), freq  # vertical stripes: the wave runs along x
        assert angle_error(stripe_orientation(lum), 90.0, 180) < 1.0


def test_hue_is_the_centre_pixels():
    for image, hue in images("hue", 12):
        r, g, b = image[:, SIZE // 2, SIZE // 2].tolist()
        h, s, _ = colorsys.rgb_to_hsv(r, g, b)
        assert angle_error(360 * h, hue) < 0.5 and s > 0.99, hue


@pytest.mark.parametrize("axis", ["x", "y"])
def test_position_is_the_spots_centroid(axis):
    for image, where in images("position", 9, axis=axis):
        spot = luminance(image) - 0.2
        cx, cy = centroid(spot)
        along, across = (cx, cy) if axis == "x" else (cy, cx)
        assert along / SIZE == pytest.approx(where, abs=0.01) and abs(across) < 0.2, (axis, where)


def test_size_is_the_discs_diameter():
    for image, diameter in images("size", 6):
        area = stroke(image).sum()
        assert 2 * np.sqrt(area / np.pi) / SIZE == pytest.approx(diameter, rel=0.03), diameter


def test_facing_is_where_the_snout_points():
    for image, theta in images("facing", 16):
        cx, cy = centroid(stroke(image))
        assert angle_error(direction(cx, cy), theta) < 2.0, theta


def test_high_low_boundary_has_the_high_frequencies_at_the_angle():
    for image, theta in images("high_low", 16):
        lum = luminance(image)
        laplacian = 4 * lum - sum(np.roll(lum, shift, axis) for shift in (1, -1) for axis in (0, 1))
        x, y = coords()
        # Inside the inscribed disc (a square's corners would pull a half-plane's centroid
        # off its normal), away from np.roll's wrap-around.
        energy = laplacian**2 * (np.hypot(x, y) < SIZE / 2 - 3)
        vx, vy = (energy * x).sum(), (energy * y).sum()
        assert angle_error(direction(vx, vy), theta) < 3.0, theta


def test_spec_fills_options_and_streams_in_batches():
    spec = check_sweep({"sweep": "orientation", "steps": 36})
    assert spec == {"sweep": "orientation", "steps": 36, "stimulus": "edge"}
    assert sweep_values(spec) == pytest.approx([10.0 * i for i in range(36)])
    assert sweep_values(check_sweep({"sweep": "orientation", "steps": 4, "stimulus": "line"})) == [0, 45, 90, 135]
    batches = list(iter_sweep(spec, 32, batch_size=10))
    assert [len(b) for b in batches] == [10, 10, 10, 6] and batches[0].shape[-1] == 32
    whole, conds = sweep_images("orientation", 36, 32)
    assert np.array_equal(np.concatenate([b.numpy() for b in batches]), whole.numpy())
    assert conds == conditions(spec, 32) and conds[3] == {"orientation": 30.0}
    assert sweep_values(check_sweep({"sweep": "position", "steps": 1})) == [-0.4]


@pytest.mark.parametrize("spec, message", [
    ({"sweep": "nope", "steps": 3}, "unknown sweep 'nope'"),
    ({"sweep": "orientation", "steps": 0}, "sweep steps must be a whole number from 1 to 1,000"),
    ({"sweep": "orientation", "steps": 10**12}, "sweep steps"),
    ({"sweep": "orientation", "steps": "9" * 40}, "sweep steps"),
    ({"sweep": "orientation", "steps": 2.5}, "sweep steps"),
    ({"sweep": "orientation", "steps": True}, "sweep steps"),
    ({"sweep": "orientation", "steps": 8, "stimulus": "blob"}, "stimulus must be one of edge, line, grating"),
    ({"sweep": "frequency", "steps": 8, "orientation": float("nan")}, "orientation must be a number"),
    ({"sweep": "frequency", "steps": 8, "orientation": 1e300}, "orientation must be a number"),
    ({"sweep": "hue", "steps": 8, "radius": 3}, r"unknown fields \['radius'\] in the hue sweep"),
    ({"sweep": "hue", "steps": 8, "size": 10**9}, "sweep image size"),
    ({"steps": 8}, "needs a sweep name"),
    (["orientation"], "must be an object"),
])
def test_hostile_specs_are_one_line(spec, message):
    with pytest.raises(InvalidInput, match=message) as error:
        check_sweep(spec)
    assert "\n" not in str(error.value)


def test_a_sweep_too_large_to_hold_is_refused_before_drawing():
    with pytest.raises(InvalidInput, match="GiB of images"):
        sweep_images("orientation", MAX_SWEEP_STEPS, 4096)


def test_checking_a_spec_imports_no_torch():
    code = ("import sys; from atlas.compute.datasets.sweep_spec import check_sweep, sweep_values; "
            "sweep_values(check_sweep({'sweep': 'curvature', 'steps': 5})); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
