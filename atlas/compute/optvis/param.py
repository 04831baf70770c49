"""Image parameterizations: what the optimizer actually changes, and how it becomes RGB.

Optimizing pixels directly lets high frequencies win (the gradient of a conv net is mostly
high-frequency noise), so Lucid optimizes a Fourier spectrum whose coefficients are scaled
by 1/f: every frequency band then moves at a similar rate and images come out smooth.
Colours are decorrelated the same way: the parameters live in a whitened colour space
(the square root of ImageNet's colour covariance, as in Lucid) so that luminance and
chroma learn at comparable rates. A sigmoid squashes the result into [0, 1].

A parameterization works on a batch (N, ...) of raw parameters, one row per image, and
every operation is per image, so rows never mix. ``init`` draws one image's raw
parameters from that image's own generator, which is what makes an image independent of
the batch it is rendered in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property

import torch

from atlas.errors import InvalidInput

# Lucid's square root of the colour covariance of ImageNet (RGB), columns normalized so the
# largest has unit norm: a unit step in the decorrelated space is at most a unit in RGB.
COLOR_CORRELATION_SVD_SQRT = torch.tensor(
    [[0.26, 0.09, 0.02],
     [0.27, 0.00, -0.05],
     [0.27, -0.09, 0.03]]
)
COLOR_CORRELATION = COLOR_CORRELATION_SVD_SQRT / COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()
FOURIER_MAGIC = 4.0  # Lucid's divisor of the spectrum's image: keeps the sigmoid unsaturated


def to_valid_rgb(x: torch.Tensor, decorrelate: bool) -> torch.Tensor:
    """(N, 3, H, W) unconstrained -> RGB in [0, 1], through the colour basis if asked."""
    if decorrelate:
        x = torch.einsum("nchw,dc->ndhw", x, COLOR_CORRELATION.to(x.device, x.dtype))
    return torch.sigmoid(x)


@dataclass(frozen=True)
class PixelImage:
    """Raw parameters are the (pre-sigmoid) pixels themselves: the simple baseline."""

    size: int
    decorrelate: bool = True
    sd: float = 0.01

    def raw_shape(self) -> tuple[int, ...]:
        return (3, self.size, self.size)

    def init(self, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(self.raw_shape(), generator=generator) * self.sd

    def __call__(self, raw: torch.Tensor) -> torch.Tensor:
        return to_valid_rgb(raw, self.decorrelate)

    def spec(self) -> dict:
        return {"kind": "pixel", **asdict(self)}


def rfft2d_freqs(h: int, w: int) -> torch.Tensor:
    """|frequency| of every coefficient of ``rfft2`` of an h x w image, shape (h, w//2+1)."""
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(w, dtype=torch.float64)[None, :]
    return torch.sqrt(fx * fx + fy * fy)


@dataclass(frozen=True)
class FourierImage:
    """Raw parameters are the real and imaginary parts of each colour channel's spectrum,
    scaled by 1/f**decay_power (frequencies below one cycle per image are clamped)."""

    size: int
    decay_power: float = 1.0
    decorrelate: bool = True
    sd: float = 0.01

    def raw_shape(self) -> tuple[int, ...]:
        return (3, self.size, self.size // 2 + 1, 2)

    @cached_property
    def scale(self) -> torch.Tensor:
        freqs = rfft2d_freqs(self.size, self.size)
        scale = 1.0 / freqs.clamp(min=1.0 / self.size) ** self.decay_power
        return scale.float()[None, None, :, :, None]

    def init(self, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(self.raw_shape(), generator=generator) * self.sd

    def __call__(self, raw: torch.Tensor) -> torch.Tensor:
        spectrum = torch.view_as_complex((raw * self.scale.to(raw.device)).contiguous())
        image = torch.fft.irfft2(spectrum, s=(self.size, self.size), norm="ortho")
        return to_valid_rgb(image / FOURIER_MAGIC, self.decorrelate)

    def spec(self) -> dict:
        return {"kind": "fourier", **asdict(self)}


Parameterization = PixelImage | FourierImage
PARAMETERIZATIONS = {"fourier": FourierImage, "pixel": PixelImage}


def make_param(kind: str, size: int, decorrelate: bool = True, sd: float = 0.01,
               decay_power: float = 1.0) -> Parameterization:
    """A parameterization by name (``fourier`` or ``pixel``)."""
    if kind == "fourier":
        return FourierImage(size, decay_power, decorrelate, sd)
    if kind == "pixel":
        return PixelImage(size, decorrelate, sd)
    raise InvalidInput(f"unknown parameterization {kind!r}; use one of {', '.join(PARAMETERIZATIONS)}")
