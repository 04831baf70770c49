"""Objectives: what an image should do to a layer, as a value to maximize, per image.

An ``Objective`` is a weighted sum of terms (channel, neuron, direction, diversity), which
gives negation, scaling and sums for free. A batch renders one image per objective, so
evaluation is compiled (``BatchObjective``): terms of one kind on one layer, whichever
images they belong to, are evaluated in one vectorized gather and their weighted values
scattered back to their images. No Python loop over images runs per step, and image i's
value depends only on image i's activations, except for diversity, which couples the
images of one diversity group on purpose.

Every term reads its layer at a ``site`` (``atlas.compute.preactivation``): unit and
direction terms default to ``"pre"``, the value before the nonlinearity, as Lucid's
``*_pre_relu`` objectives do. A ReLU output that is zero everywhere has no gradient, so an
objective on it never leaves a flat start; and the pre-activation keeps a negative
objective meaningful (driving the unit below zero, instead of anything that makes it 0).
The diversity term defaults to ``"post"``, the rectified output the next layer sees, as
Lucid's ``diversity("mixed4a")`` beside ``channel("mixed4a_pre_relu", ...)``.

Every term has a stable text ``key``; an objective's key seeds its image's random draws.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from atlas.compute.preactivation import Read, Site, check_site
from atlas.errors import InvalidInput
from atlas.vocabulary import VIS_KINDS  # defined torch-free: jobs are checked when queued

Evaluate = Callable[[torch.Tensor], torch.Tensor]  # activations (M, C, ...) -> values (M,)


def _at(site: Site) -> str:
    """The site's part of a term key (``@pre``)."""
    return f"@{site}"


def _flat(acts: torch.Tensor) -> torch.Tensor:
    """(M, C, ...) -> (M, C, positions); a layer without spatial axes has one position."""
    return acts.reshape(acts.shape[0], acts.shape[1], -1)


@dataclass(frozen=True)
class Channel:
    """Mean activation of one channel over all positions."""

    layer: str
    channel: int
    site: Site = "pre"

    def key(self) -> str:
        return f"channel({self.layer}{_at(self.site)},{self.channel})"

    @staticmethod
    def compile(terms: Sequence[Channel], device: torch.device) -> Evaluate:
        channels = torch.tensor([t.channel for t in terms], device=device)
        rows = torch.arange(len(terms), device=device)
        return lambda acts: _flat(acts)[rows, channels].mean(dim=1)


@dataclass(frozen=True)
class Neuron:
    """Activation of one channel at one position (y, x); None is the centre (the lower
    right of the central four on even sizes, as in Lucid)."""

    layer: str
    channel: int
    x: int | None = None
    y: int | None = None
    site: Site = "pre"

    def key(self) -> str:
        return f"neuron({self.layer}{_at(self.site)},{self.channel},x={self.x},y={self.y})"

    @staticmethod
    def compile(terms: Sequence[Neuron], device: torch.device) -> Evaluate:
        channels = torch.tensor([t.channel for t in terms], device=device)
        positions = _neuron_positions(terms, device)

        def evaluate(acts: torch.Tensor) -> torch.Tensor:
            rows, y, x = positions(acts)
            return acts[rows, channels, y, x]
        return evaluate


def _neuron_positions(terms: Sequence[Neuron | DirectionNeuron], device: torch.device,
                      ) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """For terms that read one position (``x``, ``y``; None is the map's centre): a function
    from a (M, C, H, W) map to the (rows, y, x) indices each term reads."""
    xs = torch.tensor([-1 if t.x is None else t.x for t in terms], device=device)
    ys = torch.tensor([-1 if t.y is None else t.y for t in terms], device=device)
    rows = torch.arange(len(terms), device=device)

    def positions(acts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if acts.dim() != 4:
            raise InvalidInput("a neuron objective needs a layer with two spatial axes")
        h, w = acts.shape[-2:]
        return rows, torch.where(ys < 0, h // 2, ys), torch.where(xs < 0, w // 2, xs)
    return positions


def _dot_cossim(acts: torch.Tensor, vectors: torch.Tensor, cossim_pow: torch.Tensor) -> torch.Tensor:
    """Per image and position, the dot product of the activations (M, C, S) with each
    image's vector (M, C), weighted by max(0.1, cosine similarity) ** ``cossim_pow``
    (M,): Lucid's ``_dot_cossim``. A power of 0 is the plain dot product; a higher power
    asks for activations pointing along the vector, not merely large along it."""
    dot = torch.einsum("mcs,mc->ms", acts, vectors)
    eps = 1e-4
    cos = dot / (eps + acts.norm(dim=1)) / (eps + vectors.norm(dim=1, keepdim=True))
    return dot * cos.clamp(min=0.1) ** cossim_pow[:, None]


def _vector_key(name: str, layer: str, site: Site, vector: tuple[float, ...], cossim_pow: float,
                *extra: object) -> str:
    digest = hashlib.sha256(np.asarray(vector, np.float32).tobytes()).hexdigest()
    power = f",cossim_pow={cossim_pow!r}" if cossim_pow else ""  # a plain direction's key has no power
    return f"{name}({layer}{_at(site)},{digest[:16]}{''.join(f',{e}' for e in extra)}{power})"


def _vectors(terms: Sequence[Direction] | Sequence[DirectionNeuron] | Sequence[DirectionCossim],
             device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    vectors = torch.tensor([t.vector for t in terms], dtype=torch.float32, device=device)
    powers = torch.tensor([float(getattr(t, "cossim_pow", 0.0)) for t in terms], device=device)
    return vectors, powers


@dataclass(frozen=True)
class Direction:
    """Mean over positions of the dot product with a vector in the layer's channel space
    (Lucid's ``direction``): features are directions, and a unit is the one-hot case.
    ``cossim_pow`` > 0 weights each position by its cosine similarity to the vector."""

    layer: str
    vector: tuple[float, ...]
    cossim_pow: float = 0.0
    site: Site = "pre"

    def key(self) -> str:
        return _vector_key("direction", self.layer, self.site, self.vector, self.cossim_pow)

    @staticmethod
    def compile(terms: Sequence[Direction], device: torch.device) -> Evaluate:
        vectors, powers = _vectors(terms, device)
        return lambda acts: _dot_cossim(_flat(acts), vectors, powers).mean(dim=1)


@dataclass(frozen=True)
class DirectionNeuron:
    """The direction at one position (y, x) (None: the centre, as ``Neuron``): Lucid's
    ``direction_neuron``, with its ``cossim_pow``; the activation grid's objective."""

    layer: str
    vector: tuple[float, ...]
    x: int | None = None
    y: int | None = None
    cossim_pow: float = 0.0
    site: Site = "pre"

    def key(self) -> str:
        return _vector_key("direction_neuron", self.layer, self.site, self.vector, self.cossim_pow,
                           f"x={self.x}", f"y={self.y}")

    @staticmethod
    def compile(terms: Sequence[DirectionNeuron], device: torch.device) -> Evaluate:
        vectors, powers = _vectors(terms, device)
        positions = _neuron_positions(terms, device)

        def evaluate(acts: torch.Tensor) -> torch.Tensor:
            rows, y, x = positions(acts)
            at = acts[rows, :, y, x]  # (M, C)
            return _dot_cossim(at[..., None], vectors, powers)[:, 0]
        return evaluate


@dataclass(frozen=True)
class DirectionCossim:
    """Mean over positions of the cosine similarity between the activations and the
    vector (Lucid's ``direction_cossim``): the angle only, whatever the magnitude."""

    layer: str
    vector: tuple[float, ...]
    site: Site = "pre"

    def key(self) -> str:
        return _vector_key("direction_cossim", self.layer, self.site, self.vector, 0.0)

    @staticmethod
    def compile(terms: Sequence[DirectionCossim], device: torch.device) -> Evaluate:
        vectors, _ = _vectors(terms, device)

        def evaluate(acts: torch.Tensor) -> torch.Tensor:
            flat = _flat(acts)
            dot = torch.einsum("mcs,mc->ms", flat, vectors)
            return (dot / (flat.norm(dim=1) * vectors.norm(dim=1, keepdim=True) + 1e-8)).mean(dim=1)
        return evaluate


@dataclass(frozen=True)
class Diversity:
    """Minus the summed cosine similarity of this image's Gram matrix (style) at ``layer``
    to those of the other images of its group: Lucid's ``diversity`` split per image.
    Lucid optimizes the batch *mean* of the channel objective minus ``weight`` times
    sum_i sum_(j != i) similarity(i, j) / n; the group's mean of these per-image values
    (image i: its objective minus ``weight`` times its row sum) is exactly that, so the
    penalty has its nominal strength against a unit term that is summed over images.
    ``member`` tells the group's images apart."""

    layer: str
    group: str
    member: int
    size: int
    site: Site = "post"

    def key(self) -> str:
        return f"diversity({self.layer}{_at(self.site)},{self.group},{self.member}/{self.size})"

    @staticmethod
    def compile(terms: Sequence[Diversity], device: torch.device) -> Evaluate:
        ids = {g: i for i, g in enumerate(dict.fromkeys(t.group for t in terms))}
        group = torch.tensor([ids[t.group] for t in terms], device=device)
        counts = Counter(t.group for t in terms)
        if any(counts[t.group] != t.size for t in terms):
            raise InvalidInput("every image of a diversity group must be rendered together, once")
        others = (group[:, None] == group[None, :]) & ~torch.eye(len(terms), dtype=torch.bool,
                                                                device=device)

        return lambda acts: -(gram_similarity(acts) * others).sum(dim=1)


def gram_similarity(acts: torch.Tensor) -> torch.Tensor:
    """(M, M) cosine similarities of the images' Gram matrices (channels x channels, over
    positions) of activations (M, C, ...): in [0, 1], as Gram matrices are PSD."""
    flat = _flat(acts)
    grams = F.normalize(torch.bmm(flat, flat.transpose(1, 2)).flatten(1), dim=1)
    return grams @ grams.T


def group_dissimilarity(acts: torch.Tensor) -> float:
    """1 - the mean pairwise Gram cosine of a group's activations (M >= 2): what the
    diversity penalty raises, 0 for images of one style."""
    similarity = gram_similarity(acts)
    m = len(similarity)
    return 1.0 - float((similarity.sum() - similarity.diagonal().sum()) / (m * (m - 1)))


Term = Channel | Neuron | Direction | DirectionNeuron | DirectionCossim | Diversity


@dataclass(frozen=True)
class Objective:
    """A weighted sum of terms, maximized. Supports ``a + b``, ``a - b``, ``-a``, ``2 * a``."""

    terms: tuple[tuple[float, Term], ...]

    @property
    def key(self) -> str:
        return " + ".join(f"{w!r}*{t.key()}" for w, t in self.terms)

    @property
    def layers(self) -> set[str]:
        return {t.layer for _, t in self.terms}

    @property
    def reads(self) -> set[Read]:
        """The (layer, site) pairs the objective reads."""
        return {(t.layer, t.site) for _, t in self.terms}

    @property
    def diversity_group(self) -> str | None:
        """The diversity group this image belongs to (its images render in one batch)."""
        groups = {t.group for _, t in self.terms if isinstance(t, Diversity)}
        if len(groups) > 1:
            raise InvalidInput("an image can be in at most one diversity group")
        return groups.pop() if groups else None

    def __add__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(self.terms + other.terms)

    def __radd__(self, other: object) -> Objective:
        if isinstance(other, (int, float)) and other == 0:  # sum([...]) starts from 0
            return self
        return NotImplemented

    def __mul__(self, weight: float) -> Objective:
        if not isinstance(weight, (int, float)):
            return NotImplemented
        return Objective(tuple((w * float(weight), t) for w, t in self.terms))

    __rmul__ = __mul__

    def __neg__(self) -> Objective:
        return self * -1.0

    def __sub__(self, other: Objective) -> Objective:
        return self + (-other)


def channel(layer: str, unit: int, site: Site = "pre") -> Objective:
    return Objective(((1.0, Channel(layer, int(unit), check_site(site))),))


def neuron(layer: str, unit: int, x: int | None = None, y: int | None = None,
           site: Site = "pre") -> Objective:
    return Objective(((1.0, Neuron(layer, int(unit), x, y, check_site(site))),))


def _as_tuple(vector: Sequence[float] | np.ndarray | torch.Tensor) -> tuple[float, ...]:
    return tuple(torch.as_tensor(vector, dtype=torch.float32).flatten().tolist())


def direction(layer: str, vector: Sequence[float] | np.ndarray | torch.Tensor,
              cossim_pow: float = 0.0, site: Site = "pre") -> Objective:
    return Objective(((1.0, Direction(layer, _as_tuple(vector), float(cossim_pow), check_site(site))),))


def direction_neuron(layer: str, vector: Sequence[float] | np.ndarray | torch.Tensor,
                     x: int | None = None, y: int | None = None, cossim_pow: float = 0.0,
                     site: Site = "pre") -> Objective:
    return Objective(((1.0, DirectionNeuron(layer, _as_tuple(vector), x, y, float(cossim_pow), check_site(site))),))


def direction_cossim(layer: str, vector: Sequence[float] | np.ndarray | torch.Tensor,
                     site: Site = "pre") -> Objective:
    return Objective(((1.0, DirectionCossim(layer, _as_tuple(vector), check_site(site))),))


def negative(objective: Objective) -> Objective:
    """What most lowers the objective: for a unit, what it responds against (on the
    pre-activation, the most inhibiting input; on a ReLU output it would be anything
    that gives 0)."""
    return -objective


def diverse(objective: Objective, layer: str, n: int, weight: float,
            site: Site = "post") -> list[Objective]:
    """``n`` objectives: ``objective`` plus a diversity penalty at ``layer`` (its ``site``)
    among these ``n`` images only, of weight ``weight`` *relative to the unit's activation
    scale*.

    The penalty is a sum of cosines (dimensionless) while the objective is in the unit's
    own units, which differ by orders of magnitude between models and layers, so a fixed
    weight (Lucid's 100, made for InceptionV1) is too strong on one unit and nothing on
    another. The weight is multiplied at every step by the group's mean value of
    ``objective`` (detached, at least 0; see ``BatchObjective``): the render's own
    activation scale, known without a separate plain render. An image's gradient is then
    proportional to that of log(activation) minus ``weight`` times its similarity sum:
    rescaling the unit leaves the images unchanged, and at the optimum one unit of
    summed cosine similarity trades against a fraction ``weight`` of the activation.
    """
    if n < 2:
        raise InvalidInput("diversity needs at least two images")
    group = f"{objective.key}|{layer}|{site}|{weight!r}|{n}"  # two groups of one objective may meet
    return [objective + weight * Objective(((1.0, Diversity(layer, group, i, n, check_site(site))),))
            for i in range(n)]


class BatchObjective:
    """The objectives of one batch, compiled: ``values(acts)`` is (N,) per image, with
    ``acts`` the activations by (layer, site) of every pair in ``reads``.

    Diversity terms are weighted relative to the activation scale (see ``diverse``): each
    image's diversity value is multiplied by the mean over its group of the images' other
    terms, detached and clamped at 0."""

    def __init__(self, objectives: Sequence[Objective], device: torch.device):
        groups: dict[tuple, list[tuple[int, float, Term]]] = {}
        for image, objective in enumerate(objectives):
            for weight, term in objective.terms:
                groups.setdefault((type(term), (term.layer, term.site)), []).append((image, weight, term))
        self.n = len(objectives)
        self.reads: list[Read] = sorted({read for _, read in groups})
        self._terms: list[tuple] = []
        self._penalties: list[tuple] = []
        for (kind, read), entries in groups.items():
            images = [image for image, _, _ in entries]
            index = None if images == list(range(self.n)) else torch.tensor(images, device=device)
            weights = torch.tensor([w for _, w, _ in entries], device=device)
            evaluate = kind.compile([t for _, _, t in entries], device)
            (self._penalties if kind is Diversity else self._terms).append((read, index, weights, evaluate))
        members = [objective.diversity_group for objective in objectives]
        same = torch.tensor([[a is not None and a == b or i == j for j, b in enumerate(members)]
                             for i, a in enumerate(members)], dtype=torch.float32, device=device)
        self._group_mean = same / same.sum(dim=1, keepdim=True)
        self._device = device

    def _sum(self, groups: list[tuple], acts: dict[Read, torch.Tensor]) -> torch.Tensor:
        total = torch.zeros(self.n, device=self._device)
        for read, index, weights, evaluate in groups:
            layer_acts = acts[read] if index is None else acts[read][index]
            contribution = weights * evaluate(layer_acts)
            total = total + contribution if index is None else total.index_add(0, index, contribution)
        return total

    def values(self, acts: dict[Read, torch.Tensor]) -> torch.Tensor:
        base = self._sum(self._terms, acts)
        if not self._penalties:
            return base
        scale = (self._group_mean @ base.detach()).clamp(min=0.0)
        return base + scale * self._sum(self._penalties, acts)


DIVERSITY_WEIGHT = 0.2  # relative: see ``kind_objectives``


def kind_objectives(whole: Objective, centre: Objective, layer: str, kind: str, diversity_n: int = 4,
                    diversity_weight: float = DIVERSITY_WEIGHT) -> list[Objective]:
    """What a visualization kind optimizes, for a feature whose objective over the whole
    map is ``whole`` and at the centre position ``centre``: ``diversity`` is
    ``diversity_n`` images of ``whole`` with a penalty on their similarity at ``layer``
    (after its ReLU, as Lucid's).

    The default relative weight 0.2 is chosen from a bound, not fitted: Gram matrices
    are positive semi-definite, so each cosine lies in [0, 1] and an image's similarity
    sum in [0, n - 1]. Trading log-activation against ``weight`` times that sum (see
    ``diverse``), a group at the optimum keeps at least exp(-weight * (n - 1)) of the
    plain activation in geometric mean: 0.55 for 0.2 and Lucid's n = 4, above half."""
    if kind == "channel":
        return [whole]
    if kind == "neuron":
        return [centre]
    if kind == "negative":
        return [negative(whole)]
    if kind == "diversity":
        return diverse(whole, layer, diversity_n, diversity_weight)
    raise InvalidInput(f"unknown visualization kind {kind!r}; use one of {', '.join(VIS_KINDS)}")


def unit_objectives(layer: str, unit: int, kind: str, diversity_n: int = 4,
                    diversity_weight: float = DIVERSITY_WEIGHT, site: Site = "pre") -> list[Objective]:
    """The objectives of a visualization kind of one unit, read at ``site``
    (``kind_objectives``)."""
    return kind_objectives(channel(layer, unit, site), neuron(layer, unit, site=site), layer, kind,
                           diversity_n, diversity_weight)


def direction_objectives(layer: str, vector: Sequence[float] | np.ndarray | torch.Tensor, kind: str,
                         diversity_n: int = 4, diversity_weight: float = DIVERSITY_WEIGHT,
                         cossim_pow: float = 0.0, site: Site = "pre") -> list[Objective]:
    """The objectives of a visualization kind of a direction, read at ``site``: the
    unit's, with the dot product with ``vector`` in place of one channel (``channel`` is
    Lucid's ``direction``, ``neuron`` its ``direction_neuron``, each with ``cossim_pow``)."""
    return kind_objectives(direction(layer, vector, cossim_pow, site),
                           direction_neuron(layer, vector, cossim_pow=cossim_pow, site=site),
                           layer, kind, diversity_n, diversity_weight)
