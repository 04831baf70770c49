"""Directions as features, on a hand-built model whose feature (yellow) is a direction
spread over three channels of layer "2", each of which prefers another colour
(``tiny_models.spread_direction``), and real images of coloured spots: the direction's
factorization, top examples, difference of means and visualization find yellow; no
single channel does."""

import numpy as np
import pytest
import torch
from tiny_models import (
    DETECTOR_LAYER,
    SPREAD_LAYER,
    YELLOW,
    spread_direction,
    write_colour_blobs,
    yellow_direction,
)

from atlas.compute.capture import capture
from atlas.compute.datasets.folder import ImageFolder
from atlas.compute.directions import factorize_layer, mean_difference, nmf
from atlas.compute.examples import top_examples
from atlas.compute.optvis.objectives import BatchObjective, direction, direction_cossim, direction_neuron
from atlas.compute.optvis.render import RenderParams, render_requests
from atlas.errors import InvalidInput

PRIMARIES = {0: "red", 1: "green", 2: "blue"}  # the colour each of channels 0-2 prefers


@pytest.fixture(scope="module")
def colour_images(tmp_path_factory) -> tuple[ImageFolder, list[str], str]:
    folder = tmp_path_factory.mktemp("colours")
    colours = write_colour_blobs(folder, per_colour=6, size=24)
    return ImageFolder(folder, image_size=24), colours, str(folder)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_factorization_finds_the_direction_that_no_channel_is(colour_images):
    dataset, _, _ = colour_images
    result = factorize_layer(spread_direction(), SPREAD_LAYER, dataset, n=4, seed=0)
    v = yellow_direction()
    cosines = [_cosine(factor, v) for factor in result.directions.numpy()]
    assert max(cosines) > 0.99, cosines
    assert all(_cosine(np.eye(6)[c], v) < 0.6 for c in range(6))  # no unit is the feature
    assert result.error < 0.05 and torch.allclose(result.directions.norm(dim=1), torch.ones(4), atol=1e-4)
    again = factorize_layer(spread_direction(), SPREAD_LAYER, dataset, n=4, seed=0)
    assert torch.equal(result.directions, again.directions)  # deterministic for a seed


def test_factorization_refuses_negative_activations():
    with pytest.raises(InvalidInput, match="non-negative factorization needs non-negative activations"):
        nmf(torch.tensor([[1.0, -0.5], [0.2, 0.3]]), 1)
    with pytest.raises(InvalidInput, match="number of factors"):
        nmf(torch.ones(4, 2), 3)


def test_direction_top_examples_are_the_feature_and_no_channel_s_are(colour_images):
    dataset, colours, _ = colour_images
    result = top_examples(spread_direction(), SPREAD_LAYER, dataset, [0, 1, 2], k=6,
                          directions={"yellow": yellow_direction()})
    assert result.targets == [0, 1, 2, "yellow"]
    tops = {target: [colours[i] for i in result.top[row]["index"]] for row, target in enumerate(result.targets)}
    assert tops["yellow"] == ["yellow"] * 6
    for channel, primary in PRIMARIES.items():
        assert tops[channel] == [primary] * 6
    assert len(result.top_crops[3]) == 6


def test_difference_of_means_finds_the_feature_images(colour_images):
    dataset, colours, _ = colour_images
    yellow = torch.utils.data.Subset(dataset, [i for i, c in enumerate(colours) if c == "yellow"])
    others = torch.utils.data.Subset(dataset, [i for i, c in enumerate(colours) if c != "yellow"])
    vector = mean_difference(spread_direction(), SPREAD_LAYER, yellow, others).numpy()
    # A contrast, not the feature's activation vector: up on channels 0-2, down on the
    # primaries' channels 3-5 (cosine to yellow_direction() is only ~0.1 here), and
    # still the direction whose top examples are exactly the yellow images.
    assert (vector[:3] > 0).all() and (vector[3:] < 0).all(), vector
    result = top_examples(spread_direction(), SPREAD_LAYER, dataset, [], k=6, directions={"diff": vector})
    assert [colours[i] for i in result.top[0]["index"]] == ["yellow"] * 6


def _detector_means(images: np.ndarray) -> np.ndarray:
    """Mean response of the four colour detectors (red, green, blue, yellow) to images."""
    x = torch.as_tensor(images).permute(0, 3, 1, 2)
    return capture(spread_direction(), [DETECTOR_LAYER], x)[DETECTOR_LAYER].mean(dim=(0, 2, 3)).numpy()


def test_direction_visualization_shows_the_feature_and_no_channel_s_does():
    params = RenderParams(size=24, steps=256, lr=0.1, cossim_pow=2.0)
    results = render_requests(spread_direction(), SPREAD_LAYER,
                              [("channel", 0), ("channel", 1), ("channel", 2), ("channel", "yellow")],
                              params, "cpu", vectors={"yellow": yellow_direction()})
    direction_response = _detector_means(results[("channel", "yellow")].images)
    assert direction_response.argmax() == YELLOW, direction_response
    for channel in PRIMARIES:
        response = _detector_means(results[("channel", channel)].images)
        assert response.argmax() == channel, response  # the picture shows its own colour most


def test_direction_objectives_follow_lucid():
    acts = torch.rand(2, 3, 4, 4) + 0.1
    vector = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    values = BatchObjective([direction("l", vector), direction("l", vector, cossim_pow=2.0)],
                            torch.device("cpu")).values({("l", "pre"): acts})
    dot = torch.einsum("nchw,c->nhw", acts, torch.as_tensor(vector)).mean(dim=(1, 2))
    assert torch.allclose(values[0], dot[0]) and values[1] < dot[1]  # cosines below 1 shrink it
    cossim = BatchObjective([direction_cossim("l", vector), direction_cossim("l", 5 * vector)],
                            torch.device("cpu")).values({("l", "pre"): acts[:1].expand(2, -1, -1, -1)})
    assert torch.allclose(cossim[0], cossim[1]) and 0 < cossim[0] <= 1  # the angle, not the length
    centre = BatchObjective([direction_neuron("l", vector)], torch.device("cpu")).values({("l", "pre"): acts[:1]})
    assert torch.isclose(centre[0], acts[0, :, 2, 2] @ torch.as_tensor(vector))
    assert direction("l", vector).key != direction("l", vector, cossim_pow=2.0).key
    assert direction("l", vector).key != direction("l", vector, site="post").key


def test_directions_read_pre_activations_and_nmf_the_output(colour_images):
    """A difference of means and a direction's examples read the pre-activation (on the
    demo CNN, before each ConvReLU's ReLU), the factorization the rectified output."""
    from atlas.compute.models.demo_cnn import DemoCNN

    torch.manual_seed(0)
    model = DemoCNN().eval()
    dataset, colours, _ = colour_images
    a = torch.utils.data.Subset(dataset, range(0, 12))
    b = torch.utils.data.Subset(dataset, range(12, 24))

    def images(subset) -> torch.Tensor:
        return torch.stack([subset[i][0] for i in range(len(subset))])
    pre = {name: capture(model, ["conv2"], images(s), "mean", site="pre")["conv2"].mean(0) for name, s in
           (("a", a), ("b", b))}
    post_a = capture(model, ["conv2"], images(a), "mean", site="post")["conv2"].mean(0)
    difference = mean_difference(model, "conv2", a, b)
    assert torch.allclose(difference, pre["a"] - pre["b"], atol=1e-5)
    assert (pre["a"] < 0).any() and not torch.allclose(pre["a"], post_a)  # the two sites differ here
    vector = np.random.default_rng(1).normal(size=difference.shape[0]).astype(np.float32)
    result = top_examples(model, "conv2", dataset, [], k=2, directions={"v": vector})
    maps = torch.einsum("nchw,c->nhw", capture(model, ["conv2"], images(dataset), site="pre")["conv2"],
                        torch.as_tensor(vector))
    assert np.isclose(result.top[0]["value"][0], float(maps.amax()), atol=1e-4)
    assert np.isclose(result.bottom[0]["value"][0], float(maps.amin()), atol=1e-4)  # the arg-min, signed
    factors = factorize_layer(model, "conv2", dataset, n=2, iterations=20)  # the output: non-negative
    assert factors.directions.shape == (2, difference.shape[0])
