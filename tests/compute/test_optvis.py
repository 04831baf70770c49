"""Feature visualization on the CPU with tiny models and images (32x32, a few dozen steps)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from atlas.compute.hooks import tap
from atlas.compute.optvis import (
    BatchObjective,
    FourierImage,
    Jitter,
    Pad,
    PixelImage,
    RandomRotate,
    RenderParams,
    channel,
    direction,
    diverse,
    negative,
    neuron,
    render_batch,
    render_units,
    standard_transforms,
)
from atlas.compute.optvis.objectives import group_dissimilarity
from atlas.compute.optvis.render import render_requests
from atlas.compute.optvis.transforms import apply_transforms, n_random
from atlas.errors import InvalidInput

FAST = RenderParams(size=32, steps=40, lr=0.2)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two cores shared with other jobs: one thread is several times faster here."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_net(seed: int = 0, batch_norm: bool = False) -> nn.Module:
    """conv(5x5) -> [bn] -> relu -> pool -> conv(3x3) named "3" -> relu."""
    torch.manual_seed(seed)
    norm = nn.BatchNorm2d(8) if batch_norm else nn.Identity()
    model = nn.Sequential(nn.Conv2d(3, 8, 5, padding=2), norm, nn.ReLU(), nn.Conv2d(8, 32, 3),
                          nn.ReLU())
    if batch_norm:  # running statistics far from the identity, as after training
        norm.running_mean.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.2, 2.0)
    return model.eval()


def layer_means(model: nn.Module, layer: str, images: np.ndarray) -> torch.Tensor:
    """Spatial mean activations (N, C) of ``layer`` for NHWC images."""
    return _layer_output(model, layer, images).mean(dim=(2, 3))


def _layer_output(model: nn.Module, layer: str, images: np.ndarray) -> torch.Tensor:
    """The output of ``layer`` for NHWC images (the rest of the pass is skipped)."""
    with torch.no_grad(), tap(model, [layer], stop_after=layer) as taps:
        model(torch.as_tensor(images).permute(0, 3, 1, 2))
    return taps[layer]


# -- parameterizations and transforms ----------------------------------------------------

@pytest.mark.parametrize("param", [FourierImage(32, sd=1.0), PixelImage(32, sd=1.0)])
def test_parameterizations_give_rgb_in_unit_range(param):
    raw = torch.stack([param.init(torch.Generator().manual_seed(i)) for i in range(2)])
    image = param(raw)
    assert image.shape == (2, 3, 32, 32)
    assert 0.0 <= image.min() and image.max() <= 1.0


def test_fourier_parameterization_favours_low_frequencies():
    """White noise in the 1/f-scaled spectrum gives an image whose power falls with
    frequency, unlike pixel noise."""
    param = FourierImage(32, decorrelate=False, sd=0.5)
    image = param(param.init(torch.Generator().manual_seed(0))[None])[0, 0]
    power = torch.fft.rfft2(image - image.mean()).abs()
    assert power[1:3, 1:3].mean() > 4 * power[12:16, 12:16].mean()


def test_jitter_after_pad_is_an_exact_crop():
    x = torch.rand(3, 3, 20, 20)
    u = torch.rand(3, 2)
    out = apply_transforms([Pad(4, 0.5), Jitter(8)], x, u)
    padded = nn.functional.pad(x, [4] * 4, value=0.5)
    for i, (ox, oy) in enumerate((u * 9).floor().long().tolist()):
        assert torch.allclose(out[i], padded[i, :, oy:oy + 20, ox:ox + 20], atol=1e-5)


def test_rotation_turns_each_image_by_its_own_angle():
    x = torch.rand(2, 3, 16, 16)
    out = apply_transforms([RandomRotate((0.0, 90.0))], x, torch.tensor([[0.1], [0.9]]))
    assert torch.allclose(out[0], x[0], atol=1e-5)
    assert torch.allclose(out[1], torch.rot90(x[1], 1, (1, 2)), atol=1e-5)


def test_standard_transforms_shape():
    transforms = standard_transforms()
    out = apply_transforms(transforms, torch.rand(4, 3, 32, 32), torch.rand(4, n_random(transforms)))
    assert out.shape == (4, 3, 32 + 24 - 8 - 4, 32 + 24 - 8 - 4)


# -- objectives --------------------------------------------------------------------------

def test_objective_algebra_and_keys():
    combined = channel("a", 1) - 2 * neuron("a", 2) + sum([direction("b", [1.0, 0.0])])
    assert [w for w, _ in combined.terms] == [1.0, -2.0, 1.0]
    assert combined.layers == {"a", "b"}
    assert (-channel("a", 1)).key == negative(channel("a", 1)).key != channel("a", 1).key
    assert direction("b", [1.0, 0.0]).key != direction("b", [0.0, 1.0]).key


def test_batch_objective_is_per_image():
    """Mixed objectives evaluated together equal each evaluated alone, and the gradient of
    the summed values at image i is image i's own gradient."""
    vector = torch.randn(6)
    objectives = [channel("l", 1), neuron("l", 2), neuron("l", 3, x=0, y=4),
                  direction("l", vector), negative(channel("l", 5)) + 0.5 * neuron("l", 0)]
    acts = torch.randn(len(objectives), 6, 5, 5, requires_grad=True)
    values = BatchObjective(objectives, torch.device("cpu")).values({("l", "pre"): acts})
    a = acts.detach()
    expected = torch.stack([a[0, 1].mean(), a[1, 2, 2, 2], a[2, 3, 4, 0],
                            torch.einsum("chw,c->hw", a[3], vector).mean(),
                            -a[4, 5].mean() + 0.5 * a[4, 0, 2, 2]])
    assert torch.allclose(values, expected, atol=1e-5)
    (grad,) = torch.autograd.grad(values.sum(), acts)
    for i, objective in enumerate(objectives):
        alone = acts[i:i + 1].detach().requires_grad_(True)
        (own,) = torch.autograd.grad(BatchObjective([objective], torch.device("cpu"))
                                     .values({("l", "pre"): alone}).sum(), alone)
        assert torch.allclose(grad[i], own[0])


def test_diversity_group_must_be_whole():
    group = diverse(channel("l", 0), "l", 3, 1.0)
    with pytest.raises(InvalidInput):
        BatchObjective(group[:2], torch.device("cpu"))


def test_diversity_is_lucids_at_the_groups_activation_scale():
    """The group's mean value is Lucid's objective (the batch mean of the channel minus the
    weight times sum_i sum_(j != i) cos(Gram_i, Gram_j) / n), with the weight multiplied
    by the group's mean channel value; a second group and a plain image beside it do not
    change it; the scale passes no gradient."""
    n, weight = 3, 0.5
    objectives = [*diverse(channel("l", 1), "l", n, weight), channel("l", 2),
                  *diverse(channel("l", 0), "l", 2, weight)]
    acts = (torch.randn(len(objectives), 4, 5, 5) + 1.0).requires_grad_(True)
    batch = BatchObjective(objectives, torch.device("cpu"))
    values = batch.values(dict.fromkeys(batch.reads, acts))  # channels read "pre", diversity "post"
    a = acts.detach()[:n]
    unit = a[:, 1].mean(dim=(1, 2))
    flat = a.flatten(2)
    grams = nn.functional.normalize((flat @ flat.transpose(1, 2)).flatten(1), dim=1)
    similarity = grams @ grams.T
    lucid_penalty = (similarity.sum() - similarity.diagonal().sum()) / n
    lucid = unit.mean() - weight * unit.mean() * lucid_penalty
    assert torch.allclose(values[:n].mean(), lucid, atol=1e-5)
    assert torch.allclose(values[n], acts.detach()[n, 2].mean())
    (grad,) = torch.autograd.grad(values[:n].sum(), acts)
    alone = acts.detach()[:n].requires_grad_(True)
    unit_alone = alone[:, 1].mean(dim=(1, 2))
    flat = alone.flatten(2)
    grams = nn.functional.normalize((flat @ flat.transpose(1, 2)).flatten(1), dim=1)
    similarity = grams @ grams.T
    by_hand = unit_alone.sum() - weight * unit.mean() * (similarity.sum() - similarity.diagonal().sum())
    (expected,) = torch.autograd.grad(by_hand, alone)
    assert torch.allclose(grad[:n], expected, atol=1e-5)


def test_diversity_objective_scales_with_the_unit():
    """Activations ten times larger give ten times the values and gradients (the
    objective is homogeneous of degree 1), so Adam takes the same steps on a unit of any
    scale: the weight follows the activation scale. (A fixed weight would be ten times
    weaker against the louder unit.)"""
    objectives = diverse(channel("l", 1), "l", 3, 0.2)
    batch = BatchObjective(objectives, torch.device("cpu"))
    acts = (torch.randn(3, 4, 5, 5) + 1.0).requires_grad_(True)
    (grad,) = torch.autograd.grad(batch.values(dict.fromkeys(batch.reads, acts)).sum(), acts)
    louder = (10 * acts.detach()).requires_grad_(True)
    loud_values = batch.values(dict.fromkeys(batch.reads, louder))
    (loud_grad,) = torch.autograd.grad(loud_values.sum(), louder)
    assert torch.allclose(loud_values, 10 * batch.values(dict.fromkeys(batch.reads, acts.detach())), rtol=1e-4)
    # f' is homogeneous of degree 0: the image's gradient through 10 * acts is 10 times its own
    assert torch.allclose(loud_grad, grad, rtol=1e-3, atol=1e-6)


# -- rendering ---------------------------------------------------------------------------

def edge_model(angles: list[float], k: int = 9, sigma: float = 2.0) -> nn.Module:
    """One derivative-of-Gaussian unit per angle: each prefers intensity gradients along it."""
    conv = nn.Conv2d(3, len(angles), k, bias=False)
    r = torch.arange(k) - (k - 1) / 2
    y, x = torch.meshgrid(r, r, indexing="ij")
    with torch.no_grad():
        for i, angle in enumerate(angles):
            t = math.radians(angle)
            w = (x * math.cos(t) + y * math.sin(t)) * torch.exp(-(x**2 + y**2) / (2 * sigma**2))
            conv.weight[i] = (w / w.abs().sum()).expand(3, k, k)
    return nn.Sequential(conv, nn.ReLU())


def dominant_gradient_orientation(image: np.ndarray) -> float:
    """Degrees in [0, 180) of the structure tensor's main axis (x right, y down)."""
    gy, gx = torch.gradient(torch.as_tensor(image).mean(-1).double())
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    return (0.5 * math.degrees(math.atan2(2 * jxy, jxx - jyy))) % 180


def test_edge_unit_visualization_has_the_filters_orientation():
    """Read after the ReLU: the filters sum to zero, so the spatial mean of their linear
    response is only a difference of border strips, with no preferred local pattern."""
    angles = [0.0, 45.0, 90.0, 135.0]
    result = render_batch(edge_model(angles), [channel("1", i, site="post") for i in range(4)],
                          FAST, device="cpu")
    for angle, image in zip(angles, result.images):
        found = dominant_gradient_orientation(image)
        assert min(abs(found - angle), 180 - abs(found - angle)) < 20, (angle, found)


def test_visualizations_are_selective():
    model = small_net()
    result = render_batch(model, [channel("3", i) for i in range(8)], FAST, device="cpu")
    own = layer_means(model, "3", result.images)[:, :8]  # own[i, j]: unit j on vis of i
    noise = layer_means(model, "3", np.random.default_rng(0).random((64, 32, 32, 3), np.float32))[:, :8]
    diag = own.diagonal()
    assert (diag > noise.max(0).values).all()
    assert (diag - noise.mean(0) > 5 * noise.std(0)).all()
    others = (own.sum(0) - diag) / 7
    assert (diag > others).all()
    assert np.allclose(result.values, diag.numpy(), atol=1e-4)


def test_no_cross_talk_between_images_of_a_batch():
    """A unit rendered among 32 objectives (and in chunks of 5) equals it rendered alone;
    batch norm in eval mode does not couple the images."""
    model = small_net(batch_norm=True)
    params = RenderParams(size=32, steps=20, lr=0.1)
    objectives = [channel("3", i) for i in range(28)] + [
        neuron("3", 3), negative(channel("3", 4)), direction("3", torch.randn(32)), channel("0", 2)]
    batch = render_batch(model, objectives, params, device="cpu")
    chunked = render_batch(model, objectives, params, device="cpu", max_batch=5)
    for i in (7, 29, 31):
        alone = render_batch(model, [objectives[i]], params, device="cpu")
        assert np.allclose(batch.images[i], alone.images[0], atol=1e-4)
        assert np.allclose(chunked.images[i], alone.images[0], atol=1e-4)
        assert np.isclose(batch.values[i], alone.values[0], atol=1e-4)
    assert model.training is False


def training_net() -> nn.Module:
    """A model as it is while being trained: batch norm ("1") and dropout ("3") in train
    mode, and a frozen batch norm ("5", eval mode, as when fine-tuning) after conv "4"."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 5, padding=2), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5),
                          nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU())
    for norm in (model[1], model[5]):
        norm.running_mean.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.2, 2.0)
    model.train()
    model[5].eval()
    return model


def modes(model: nn.Module) -> dict[str, bool]:
    return {name: module.training for name, module in model.named_modules()}


def test_a_training_model_renders_in_eval_mode_and_keeps_its_modes():
    """Batch statistics and dropout would couple the images of a batch and make every
    render random: render_batch must run the model in eval mode, then give every module
    back the mode it had."""
    model = training_net()
    before = modes(model)
    params = RenderParams(size=32, steps=20, lr=0.1)
    objectives = [channel("6", i) for i in range(6)]
    batch = render_batch(model, objectives, params, device="cpu")
    assert modes(model) == before
    alone = render_batch(model, [objectives[3]], params, device="cpu")
    assert np.allclose(batch.images[3], alone.images[0], atol=1e-4)
    assert np.isclose(batch.values[3], alone.values[0], atol=1e-4)
    # The values are those of the eval-mode model; in train mode the same images give others.
    # (The objectives read ReLU "6" before it: the output of batch norm "5".)
    diagonal = torch.arange(6), torch.arange(6)
    evaluated = layer_means(copy.deepcopy(model).eval(), "5", batch.images)[diagonal]
    trained = layer_means(copy.deepcopy(model), "5", batch.images)[diagonal]
    assert np.allclose(batch.values, evaluated.numpy(), atol=1e-4)
    assert not np.allclose(batch.values, trained.numpy(), atol=1e-2)
    assert modes(model) == before


def test_render_is_deterministic_under_a_seed():
    model = small_net()
    params = RenderParams(size=32, steps=5)
    first = render_batch(model, [channel("3", 1)], params, device="cpu")
    again = render_batch(model, [channel("3", 1)], params, device="cpu")
    other = render_batch(model, [channel("3", 1)], RenderParams(size=32, steps=5, seed=1), device="cpu")
    assert np.array_equal(first.images, again.images)
    assert not np.allclose(first.images, other.images, atol=1e-3)


def test_negative_objective_lowers_the_unit():
    model = small_net()
    units = [0, 2, 3]
    positive = render_batch(model, [channel("3", u) for u in units], FAST, device="cpu")
    lowered = render_batch(model, [negative(channel("3", u)) for u in units], FAST, device="cpu")
    grey = layer_means(model, "3", np.full((1, 32, 32, 3), 0.5, np.float32))[0, units]
    on_negative = layer_means(model, "3", lowered.images)[range(3), units]
    assert (on_negative < grey).all()
    assert (on_negative < torch.as_tensor(positive.values)).all()
    assert np.allclose(lowered.values, -on_negative.numpy(), atol=1e-4)


def two_orientation_unit() -> nn.Module:
    """Edge units at 0, 45, 90, 135 degrees ("1"), and a unit ("2") summing the 0 and 90
    degree ones: a unit with two facets, which diversity should tell apart."""
    mix = nn.Conv2d(4, 1, 1, bias=False)
    with torch.no_grad():
        mix.weight.copy_(torch.tensor([1.0, 0.0, 1.0, 0.0]).view(1, 4, 1, 1))
    return nn.Sequential(*edge_model([0.0, 45.0, 90.0, 135.0]), mix)


def style_dissimilarity(model: nn.Module, layer: str, images: np.ndarray) -> float:
    """``group_dissimilarity`` of the images' activations at ``layer``."""
    return group_dissimilarity(_layer_output(model, layer, images))


def test_diversity_penalty_makes_images_differ_more():
    """Same seeds, same draws: only the penalty differs between the two groups."""
    model = two_orientation_unit()
    plain = render_batch(model, diverse(channel("2", 0), "1", 4, 0.0), FAST, device="cpu")
    varied = render_batch(model, diverse(channel("2", 0), "1", 4, 0.3), FAST, device="cpu")
    before = style_dissimilarity(model, "1", plain.images)
    after = style_dissimilarity(model, "1", varied.images)
    assert after > 0.1 and after > 5 * before, (before, after)
    assert (layer_means(model, "2", varied.images) > 0).all()


def test_render_units_kinds_and_progress():
    model = small_net()
    calls = []
    params = RenderParams(size=32, steps=3, diversity_n=3)
    results = render_units(model, "3", [0, 1], ["channel", "neuron", "negative", "diversity"],
                           params, device="cpu", max_batch=4,
                           progress=lambda done, total: calls.append((done, total)))
    assert set(results) == {(k, u) for k in ("channel", "neuron", "negative", "diversity")
                            for u in (0, 1)}
    assert results["diversity", 1].images.shape == (3, 32, 32, 3)
    assert results["channel", 0].images.shape == (1, 32, 32, 3)
    assert calls[-1][0] == calls[-1][1] == len(calls) and len(calls) % 3 == 0


def test_unknown_layer_and_kind_are_refused():
    with pytest.raises(InvalidInput, match="no layer"):
        render_batch(small_net(), [channel("nope", 0)], RenderParams(size=32, steps=1), device="cpu")
    with pytest.raises(InvalidInput, match="kind"):
        render_units(small_net(), "3", [0], "sideways", RenderParams(size=32, steps=1), device="cpu")


def test_render_requests_values_belong_to_their_images_and_kinds():
    """Each (kind, unit) gets its own images and their objective values (a channel's mean
    activation, the negative of it), a repeated request is rendered once, the default
    device works, and the diversity weight of the parameters is the one used. render_units
    takes one kind by name as well as a list."""
    model = small_net()
    params = RenderParams(size=32, steps=3, diversity_n=2, diversity_weight=0.0)
    results = render_requests(model, "3", [("channel", 1), ("negative", 2), ("channel", 1),
                                           ("diversity", 3)], params)
    assert list(results) == [("channel", 1), ("negative", 2), ("diversity", 3)]
    for (kind, unit), sign in ((("channel", 1), 1), (("negative", 2), -1)):
        means = layer_means(model, "3", results[kind, unit].images)[:, unit]
        np.testing.assert_allclose(results[kind, unit].values, sign * means.numpy(), rtol=1e-4, atol=1e-5)
    unweighted = render_batch(model, diverse(channel("3", 3), "3", 2, 0.0), params, device="cpu")
    np.testing.assert_allclose(results["diversity", 3].images, unweighted.images, atol=1e-5)
    alone = render_units(model, "3", [1], "channel", params)  # one kind by name
    assert list(alone) == [("channel", 1)]
    np.testing.assert_allclose(alone["channel", 1].images, results["channel", 1].images, atol=1e-4)


def test_render_batch_batches_at_most_max_batch_and_leaves_the_weights_alone():
    """Objectives go max_batch at a time (the progress total counts one pass per step and
    batch), a diversity group of exactly max_batch fits, a larger one or an empty request
    or max_batch 0 is refused, and the model's weights get no gradients."""
    model = small_net()
    params = RenderParams(size=32, steps=2)
    totals = []
    render_batch(model, [channel("3", u) for u in range(4)], params, max_batch=2,
                 progress=lambda done, total: totals.append(total))
    assert set(totals) == {2 * 2}
    render_batch(model, [channel("3", 0)], params, max_batch=1, device="cpu")
    render_batch(model, diverse(channel("3", 0), "3", 3, 1.0), params, device="cpu", max_batch=3)
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(InvalidInput, match="a diversity group of 3 images exceeds max_batch=2"):
        render_batch(model, diverse(channel("3", 0), "3", 3, 1.0), params, device="cpu", max_batch=2)
    with pytest.raises(InvalidInput, match="nothing to render"):
        render_batch(model, [], params, device="cpu")
    with pytest.raises(InvalidInput, match="max_batch must be at least 1"):
        render_batch(model, [channel("3", 0)], params, device="cpu", max_batch=0)


class WithSpare(nn.Module):
    """small_net with a registered layer ``spare`` that the forward pass never calls."""

    def __init__(self) -> None:
        super().__init__()
        self.net = small_net()
        self.spare = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_a_layer_that_does_not_run_is_named():
    model = WithSpare().eval()
    with pytest.raises(InvalidInput, match="layer spare did not run"):
        render_batch(model, [channel("spare", 0)], RenderParams(size=32, steps=1), device="cpu")


def in_place(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose ReLUs overwrite their input, as many published models'
    do (``nn.ReLU(inplace=True)``)."""
    twin = copy.deepcopy(model)
    for module in twin.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = True
    return twin


def test_an_in_place_activation_after_a_read_changes_nothing():
    """What a render reads is copied when it is recorded: a ReLU that overwrites its input
    later in the same pass must not turn the pre-activation read there (the input of ReLU
    "2") or the output of conv "0" (the same tensor: "1" is the identity) into its
    rectified values. The read of conv "3" keeps the pass running past ReLU "2"."""
    model = small_net()
    objectives = [channel("2", 1), channel("0", 5, site="post"), channel("3", 2)]
    params = RenderParams(size=32, steps=10, lr=0.1)
    plain = render_batch(model, objectives, params, device="cpu")
    overwriting = render_batch(in_place(model), objectives, params, device="cpu")
    np.testing.assert_allclose(overwriting.images, plain.images, atol=1e-5)
    np.testing.assert_allclose(overwriting.values, plain.values, atol=1e-5)
    means = layer_means(model, "0", plain.images)
    np.testing.assert_allclose(plain.values[:2], [means[0, 1].item(), means[1, 5].item()], rtol=1e-4, atol=1e-5)


class RunsTwice(nn.Module):
    """One conv applied twice (a shared block), then a head."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.shared = nn.Conv2d(3, 3, 3, padding=1)
        self.head = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.shared(torch.relu(self.shared(x)))))


def test_a_layer_that_runs_twice_is_read_at_its_last_call():
    """As the expanded weights do: a module that runs twice in one pass is read at its last
    call, here with a read of the head after it so the pass runs on."""
    model = RunsTwice().eval()
    objectives = [channel("shared", 1, site="post"), channel("head", 0)]
    result = render_batch(model, objectives, RenderParams(size=32, steps=5, lr=0.1), device="cpu")
    with torch.no_grad():
        x = torch.as_tensor(result.images).permute(0, 3, 1, 2)
        last = model.shared(torch.relu(model.shared(x)))
    np.testing.assert_allclose(result.values[0], last[0, 1].mean().item(), rtol=1e-4, atol=1e-5)


def test_the_parameters_transforms_are_the_ones_applied():
    """Rendering with the standard transforms (jitter, scale, rotation) differs from
    rendering with none, from the same seed."""
    model = small_net()
    jittered = render_batch(model, [channel("3", 1)], RenderParams(size=32, steps=5), device="cpu")
    still = render_batch(model, [channel("3", 1)], RenderParams(size=32, steps=5, transforms=()), device="cpu")
    assert not np.allclose(jittered.images, still.images, atol=1e-3)


def test_render_requests_renders_a_direction_named_in_its_vectors():
    """A request's target is a unit or the name of a direction whose vector is given;
    a name with no vector is refused in one line."""
    model = small_net()
    vector = np.random.default_rng(0).normal(size=32).astype(np.float32)
    params = RenderParams(size=32, steps=3)
    results = render_requests(model, "3", [("channel", "curvy"), ("channel", 2)], params, vectors={"curvy": vector})
    assert list(results) == [("channel", "curvy"), ("channel", 2)]
    alone = render_batch(model, [direction("3", vector)], params, device="cpu")
    np.testing.assert_allclose(results["channel", "curvy"].images, alone.images, atol=1e-5)
    with pytest.raises(InvalidInput, match="^no vector given for direction 'straight'$"):
        render_requests(model, "3", [("channel", "straight")], params, vectors={"curvy": vector})


def test_image_seeds_are_63_bit_and_distinct_per_objective():
    """Each objective's start is drawn from its own seed: over a thousand objectives no two
    share one, and every seed fits a signed 64-bit integer (what generators take)."""
    from atlas.compute.optvis.render import image_seed

    seeds = [image_seed(0, channel("3", unit).key) for unit in range(1000)]
    assert len(set(seeds)) == 1000
    assert all(0 <= seed < 2**63 for seed in seeds)
    assert max(seeds) > 2**62  # the whole range is used, not a few bits of it
