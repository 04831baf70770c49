"""Rendering: optimize one image per objective, many objectives in one batch.

Batching many units is what makes an atlas affordable: one forward and backward pass of
64 images costs far less than 64 passes of one. It must not change the pictures, so:

- the model runs in eval mode (no batch statistics);
- each image's random draws (its initial parameters and the transform offsets of every
  step) come from its own generator, seeded from (seed, the objective's key), and are
  drawn up front on the CPU, so they do not depend on the batch or the device;
- the loss is the *sum* of the per-image losses and Adam is elementwise, so an image's
  update depends only on its own loss (diversity groups are coupled on purpose and are
  never split across chunks).

An image rendered alone and inside a batch is then the same up to float rounding. (Kernels
may round differently at different batch sizes; where that flips a max-pool tie, such as
over the flat padded border, Adam's sign-like first steps can amplify it into a visibly
different, equally valid image. Models without such ties reproduce to ~1e-6.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from atlas.compute.capture import eval_mode
from atlas.compute.device import resolve_device
from atlas.compute.optvis.objectives import (
    DIVERSITY_WEIGHT,
    BatchObjective,
    Objective,
    direction_objectives,
    unit_objectives,
)
from atlas.compute.optvis.param import Parameterization, make_param
from atlas.compute.optvis.transforms import (
    Transform,
    apply_transforms,
    n_random,
    standard_transforms,
)
from atlas.compute.preactivation import Site, check_site, tap_sites
from atlas.errors import InvalidInput

# Part of every artifact's parameters: bump when images would change. 2: unit objectives
# read the pre-activation (``RenderParams.site``), diversity the layer's output.
ALGORITHM_VERSION = 2
Progress = bool | Callable[[int, int], None] | None


@dataclass(frozen=True)
class RenderParams:
    """Everything that determines a rendered image (with the model and the objective).
    ``diversity_*`` only matter to the ``diversity`` kind. ``site``: where a unit's
    objective reads it (``render_requests``), ``"pre"`` (before its nonlinearity, as
    Lucid's ``*_pre_relu``) or ``"post"`` (the layer's output)."""

    size: int = 128
    steps: int = 512
    lr: float = 0.05
    seed: int = 0
    param: str = "fourier"
    decorrelate: bool = True
    decay_power: float = 1.0
    init_sd: float = 0.01
    transforms: tuple[Transform, ...] = field(default_factory=standard_transforms)
    diversity_n: int = 4
    diversity_weight: float = DIVERSITY_WEIGHT  # relative to the unit's activation
    site: Site = "pre"
    cossim_pow: float = 0.0  # of a direction's objectives (Lucid's cossim_pow); units ignore it

    def __post_init__(self) -> None:
        check_site(self.site)

    def parameterization(self) -> Parameterization:
        return make_param(self.param, self.size, self.decorrelate, self.init_sd, self.decay_power)

    def to_dict(self, kind: str | None = None, direction: bool = False) -> dict:
        """JSON parameters identifying an artifact of ``kind`` (of a direction when
        ``direction``: only its objective reads ``cossim_pow``) rendered with these."""
        out = {
            "algorithm": ALGORITHM_VERSION, "steps": self.steps, "lr": self.lr,
            "seed": self.seed, "site": self.site, "param": self.parameterization().spec(),
            "transforms": [t.spec() for t in self.transforms],
        }
        if kind == "diversity":
            out |= {"diversity_n": self.diversity_n, "diversity_weight": self.diversity_weight,
                    "diversity_weight_relative": True}
        if direction and self.cossim_pow:  # absent when 0: a plain direction's parameters have no power
            out["cossim_pow"] = self.cossim_pow
        return out


@dataclass
class RenderResult:
    """``images``: (N, H, W, 3) float32 in [0, 1], NHWC as image files are; ``values``: (N,)
    each objective's value on its final image, untransformed."""

    images: np.ndarray
    values: np.ndarray


def image_seed(seed: int, key: str) -> int:
    """A 63-bit generator seed from the render seed and an objective's stable key."""
    digest = hashlib.sha256(f"{seed}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def _draws(objectives: Sequence[Objective], param: Parameterization, params: RenderParams,
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial raw parameters (N, ...) and transform uniforms (N, steps, k), per image."""
    raws, uniforms = [], []
    for objective in objectives:
        generator = torch.Generator().manual_seed(image_seed(params.seed, objective.key))
        raws.append(param.init(generator))
        uniforms.append(torch.rand((params.steps, n_random(params.transforms)), generator=generator))
    return torch.stack(raws), torch.stack(uniforms)


def _clone_tensor(_name: str, output: torch.Tensor) -> torch.Tensor:
    """A tapped tensor, copied: a later in-place op must not change it."""
    return output.clone()


def _optimize(model: nn.Module, objectives: Sequence[Objective], params: RenderParams,
              device: torch.device, step_done: Callable[[], None]) -> RenderResult:
    """Render one chunk: every step is one batched forward and backward pass."""
    param = params.parameterization()
    batch = BatchObjective(objectives, device)
    raw, uniforms = _draws(objectives, param, params)
    raw = raw.to(device).requires_grad_(True)
    uniforms = uniforms.to(device)
    optimizer = torch.optim.Adam([raw], lr=params.lr)
    with tap_sites(model, batch.reads, keep=_clone_tensor, keep_input=_clone_tensor,
                   repeat="last") as taps:
        for step in range(params.steps):
            optimizer.zero_grad(set_to_none=True)
            x = apply_transforms(params.transforms, param(raw), uniforms[:, step])
            loss = -batch.values(taps.run(x)).sum()
            loss.backward(inputs=[raw])
            optimizer.step()
            step_done()
        with torch.no_grad():
            images = param(raw)
            values = batch.values(taps.run(images))
    return RenderResult(images.permute(0, 2, 3, 1).cpu().numpy(), values.cpu().numpy())


def objective_values(model: nn.Module, objectives: Sequence[Objective], images: np.ndarray,
                     device: str | torch.device = "cpu") -> np.ndarray:
    """Each objective's value on its image (NHWC in [0, 1], as ``RenderResult.images``),
    read through the same taps as a render: to score images against another objective,
    such as a diversity image against its unit's plain channel objective."""
    device = resolve_device(device)
    batch = BatchObjective(objectives, device)
    x = torch.as_tensor(images, dtype=torch.float32, device=device).permute(0, 3, 1, 2)
    with eval_mode(model.to(device)), torch.no_grad(), \
            tap_sites(model, batch.reads, keep=_clone_tensor, keep_input=_clone_tensor, repeat="last") as taps:
        return batch.values(taps.run(x)).cpu().numpy()


def _chunks(objectives: Sequence[Objective], max_batch: int) -> list[list[int]]:
    """Indices of objectives in batches of at most ``max_batch``, diversity groups whole."""
    units: dict[object, list[int]] = {}
    for i, objective in enumerate(objectives):
        units.setdefault(objective.diversity_group or ("single", i), []).append(i)
    chunks: list[list[int]] = []
    for members in units.values():
        if len(members) > max_batch:
            raise InvalidInput(f"a diversity group of {len(members)} images exceeds "
                               f"max_batch={max_batch}")
        if not chunks or len(chunks[-1]) + len(members) > max_batch:
            chunks.append([])
        chunks[-1].extend(members)
    return chunks


@contextmanager
def progress_reporter(progress: Progress, total: int) -> Iterator[Callable[[], None]]:
    """A step callback: a tqdm bar (``True``), a ``progress(done, total)`` call, or nothing."""
    if progress is True:
        with tqdm(total=total, desc="feature vis", unit="step") as bar:
            yield lambda: bar.update(1)
        return
    done = 0

    def step_done() -> None:
        nonlocal done
        done += 1
        if callable(progress):
            progress(done, total)
    yield step_done


def render_batch(model: nn.Module, objectives: Sequence[Objective],
                 params: RenderParams | None = None, device: str | torch.device = "auto",
                 max_batch: int = 64, progress: Progress = None) -> RenderResult:
    """One image per objective, optimized ``max_batch`` at a time; results in input order.

    The model is moved to ``device`` and run in eval mode (every module's mode is restored after);
    its weights get no gradients. Inputs are RGB in [0, 1].
    """
    params = params or RenderParams()
    if not objectives:
        raise InvalidInput("nothing to render: no objectives")
    if max_batch < 1:
        raise InvalidInput("max_batch must be at least 1")
    device = resolve_device(device)
    chunks = _chunks(objectives, max_batch)
    images = np.zeros((len(objectives), params.size, params.size, 3), np.float32)
    values = np.zeros(len(objectives), np.float32)
    with eval_mode(model.to(device)), progress_reporter(progress, params.steps * len(chunks)) as step_done:
        for chunk in chunks:
            result = _optimize(model, [objectives[i] for i in chunk], params, device, step_done)
            images[chunk], values[chunk] = result.images, result.values
    return RenderResult(images, values)


Target = int | str  # a unit's channel, or the name of a direction (its vector in ``vectors``)


def target_objectives(layer: str, target: Target, kind: str, params: RenderParams,
                      vectors: Mapping[str, np.ndarray] | None = None) -> list[Objective]:
    """The objectives of one visualization of a unit or of a named direction."""
    if isinstance(target, str):
        if vectors is None or target not in vectors:
            raise InvalidInput(f"no vector given for direction {target!r}")
        return direction_objectives(layer, vectors[target], kind, params.diversity_n, params.diversity_weight,
                                    params.cossim_pow, params.site)
    return unit_objectives(layer, int(target), kind, params.diversity_n, params.diversity_weight, params.site)


def render_requests(model: nn.Module, layer: str, requests: Sequence[tuple[str, Target]],
                    params: RenderParams | None = None, device: str | torch.device = "auto",
                    progress: Progress = None, max_batch: int = 64,
                    vectors: Mapping[str, np.ndarray] | None = None,
                    ) -> dict[tuple[str, Target], RenderResult]:
    """Visualizations of (kind, target) pairs of ``layer`` (kinds: ``channel``, ``neuron``,
    ``negative``, ``diversity``; a target is a unit or a direction named in ``vectors``)
    in one batched render: ``{(kind, target): result}`` with one image per result,
    ``diversity_n`` for diversity."""
    params = params or RenderParams()
    spans, objectives = [], []
    keyed = ((kind, target if isinstance(target, str) else int(target)) for kind, target in requests)
    for kind, target in dict.fromkeys(keyed):
        objs = target_objectives(layer, target, kind, params, vectors)
        spans.append(((kind, target), len(objectives), len(objectives) + len(objs)))
        objectives.extend(objs)
    result = render_batch(model, objectives, params, device, max_batch, progress)
    return {key: RenderResult(result.images[a:b], result.values[a:b]) for key, a, b in spans}


def render_units(model: nn.Module, layer: str, units: Sequence[int], kinds: str | Sequence[str],
                 params: RenderParams | None = None, device: str | torch.device = "auto",
                 progress: Progress = None, max_batch: int = 64,
                 ) -> dict[tuple[str, Target], RenderResult]:
    """``render_requests`` of every kind in ``kinds`` (one name or several) for every unit."""
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    return render_requests(model, layer, [(k, u) for k in kinds for u in units], params,
                           device, progress, max_batch)
