"""Enqueueing the comparison of two layers (of two models): chunk jobs over the stimulus
set, then one matching job that waits for them all (the job kinds are in
``atlas.compute.universality.jobs``).

The chunks split the *images*, not the units as other computes do: what a comparison
measures are sums over images (means, co-moments), which add up across chunks, so each
image passes once through each model whatever the number of units; splitting by units
would repeat every forward pass per chunk. A dataset of N images is chunks of
``chunk_images``; a folder (whose size is known only when it is read) is one chunk; each
sweep is one chunk. Kept free of torch, so the CLI and the app can queue without it.
"""

from __future__ import annotations

from atlas.jobs.chunks import LayerShape, job_dedupe_key
from atlas.jobs.params import check_chunk_size, check_params, check_stimuli
from atlas.jobs.queue import JobQueue
from atlas.jobs.records import JobSpec
from atlas.vocabulary import COMPARE_CHUNK_IMAGES, COMPARE_KINDS

CHUNK_KIND, MATCH_KIND = COMPARE_KINDS


def stimulus_parts(stimuli: dict, chunk_images: int) -> list[dict]:
    """The stimulus set in chunks: dataset image ranges, then one part per sweep."""
    parts: list[dict] = []
    dataset = stimuli.get("dataset")
    if dataset is not None and dataset["kind"] == "synthetic":
        n = int(dataset["n"])
        parts += [{"dataset": dataset, "start": start, "stop": min(start + chunk_images, n)}
                  for start in range(0, n, chunk_images)]
    elif dataset is not None:
        parts.append({"dataset": dataset, "start": 0, "stop": None})
    return parts + [{"sweep": sweep} for sweep in stimuli.get("sweeps", [])]


def enqueue_comparison(queue: JobQueue, a: LayerShape, b: LayerShape, layers_a: list[str], layers_b: list[str],
                       stimuli: dict, chunk_images: int = COMPARE_CHUNK_IMAGES, force: bool = False,
                       priority: int = 0) -> list[int]:
    """Enqueue the comparison of layer ``a`` with layer ``b`` over ``stimuli`` (with the
    layer-level similarity of every layer of ``layers_a`` with every one of
    ``layers_b``): its chunk jobs, then the matching job (the last id). Enqueueing the
    same again finds the same jobs; ``force`` makes a new matching job that replaces what
    is stored (the chunks' statistics are reused)."""
    check_chunk_size(chunk_images)
    check_stimuli(stimuli)
    pair = {"a": f"{a.model}/{a.name}", "b": f"{b.model}/{b.name}"}
    specs = []
    for part in stimulus_parts(stimuli, chunk_images):
        params = check_params(CHUNK_KIND, {**pair, "layers_a": layers_a, "layers_b": layers_b, "part": part})
        key = job_dedupe_key(CHUNK_KIND, f"{CHUNK_KIND}:{pair['a']}~{pair['b']}", params)
        specs.append(JobSpec(CHUNK_KIND, params, priority, key))
    chunks = queue.enqueue_many(specs)
    params = check_params(MATCH_KIND, {**pair, "stimuli": stimuli, "force": force})
    key = job_dedupe_key(MATCH_KIND, f"{MATCH_KIND}:{pair['a']}~{pair['b']}", {**params, "chunks": chunks})
    return [*chunks, *queue.enqueue_many([JobSpec(MATCH_KIND, params, priority, key, after=tuple(chunks))])]
