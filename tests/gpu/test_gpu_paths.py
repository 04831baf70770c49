"""The GPU paths: capture, rendering, connections, dataset examples and a worker with
``--device cuda``, each checked against the same computation on the CPU.

Marked ``gpu`` and skipped, with the reason, where torch sees no CUDA GPU (CI and the
development machines have none); ``benchmarks/gpu.sh`` runs them on a lent GPU machine.

Mixed precision: the computes run in float32 on every device, and no autocast path is
offered (docs/testing.md, "GPU tests"): examples rank units' values across thousands of
images and connections keep signed kernels, where bfloat16's 8-bit mantissa reorders
near-ties and flips small masses' signs; a feature visualization's gradients would go
through the same rounding.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import random_images, seeded_demo_cnn

from atlas.cli import main
from atlas.compute.capture import capture
from atlas.compute.connections import direct_connections, expanded_connections
from atlas.compute.datasets import SyntheticShapes
from atlas.compute.examples import top_examples
from atlas.compute.optvis import RenderParams, channel, render_batch
from atlas.compute.optvis.render import objective_values
from atlas.compute.registration import register_model

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def model():
    return seeded_demo_cnn()


@pytest.fixture
def images():
    return random_images(8)


def test_capture_on_the_gpu_equals_the_cpu(model, images):
    on_cpu = capture(model, ["conv2", "conv5"], images, reduction="mean")
    on_gpu = capture(model.cuda(), ["conv2", "conv5"], images.cuda(), reduction="mean")
    assert on_gpu["conv2"].device.type == "cuda"
    for layer in ("conv2", "conv5"):
        torch.testing.assert_close(on_gpu[layer].cpu(), on_cpu[layer], rtol=1e-4, atol=1e-5)


def test_render_batch_on_the_gpu_reports_the_values_its_images_have(model):
    """The GPU's renders and the CPU's drift apart (Adam amplifies rounding), so what is
    checked is that the GPU's images are what it says they are: their objective values,
    read again on the CPU, are the values the GPU render reported."""
    objectives = [channel("conv3", unit) for unit in range(6)]
    result = render_batch(model, objectives, RenderParams(size=32, steps=32), "cuda")
    assert result.images.shape == (6, 32, 32, 3) and np.isfinite(result.images).all()
    assert result.images.min() >= 0 and result.images.max() <= 1
    again = objective_values(model.cpu(), objectives, result.images, "cpu")
    np.testing.assert_allclose(result.values, again, rtol=1e-3, atol=1e-4)
    assert (result.values > objective_values(model, objectives, np.full_like(result.images, 0.5))).all()


@pytest.mark.parametrize("kind", ["direct", "expanded"])
def test_connections_on_the_gpu_equal_the_cpu(model, kind):
    compute = direct_connections if kind == "direct" else expanded_connections
    on_cpu = compute(model, "conv2", "conv3", k=5, device="cpu", input_size=64)
    on_gpu = compute(model, "conv2", "conv3", k=5, device="cuda", input_size=64)
    cpu_edges = sorted(zip(on_cpu.dst.tolist(), on_cpu.src.tolist(), on_cpu.strength.tolist()))
    gpu_edges = sorted(zip(on_gpu.dst.tolist(), on_gpu.src.tolist(), on_gpu.strength.tolist()))
    assert [edge[:2] for edge in gpu_edges] == [edge[:2] for edge in cpu_edges]
    np.testing.assert_allclose([e[2] for e in gpu_edges], [e[2] for e in cpu_edges], rtol=1e-4, atol=1e-6)


def test_dataset_examples_on_the_gpu_equal_the_cpu(model):
    dataset = SyntheticShapes(96, seed=0, image_size=64)
    on_cpu = top_examples(model, "conv3", dataset, units=range(8), k=4, device="cpu", batch_size=32)
    on_gpu = top_examples(model, "conv3", dataset, units=range(8), k=4, device="cuda", batch_size=32)
    for ours, theirs in ((on_gpu.top, on_cpu.top), (on_gpu.bottom, on_cpu.bottom)):
        np.testing.assert_allclose(ours["value"], theirs["value"], rtol=1e-4, atol=1e-5)


def test_a_worker_with_device_cuda_completes_its_jobs(catalog, db_url, blob_dir, capsys):
    register_model(catalog, "demo", "demo")
    assert main(["--db", db_url, "--blobs", blob_dir, "--user", "alice", "compute", "vis", "--model", "demo",
                 "--layer", "conv2", "--chunk-size", "8", "--size", "32", "--steps", "16", "--no-wait"]) == 0
    subprocess.run([sys.executable, "-m", "atlas.cli", "--db", db_url, "--blobs", blob_dir, "--user", "alice",
                    "worker", "--device", "cuda", "--exit-when-idle", "--poll", "0.1"],
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=300, capture_output=True)
    jobs = catalog.jobs(kind="vis")
    assert jobs and all(job.status == "done" for job in jobs)
    channels = catalog.layer("demo/conv2").channels
    assert all(len(catalog.artifacts(f"demo/conv2/{unit}", "vis.channel")) == 1 for unit in range(channels))
