"""Job kinds that make directions: ``directions.diff`` (a difference of mean activations)
and ``directions.nmf`` (a factorization's building blocks). Their directions are written,
and audited, in the transaction that completes the job: a failed job leaves none."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from atlas.address import LayerAddress
from atlas.catalog import audit, directions
from atlas.catalog.api.directions import DIFF_KIND, NMF_KIND, nmf_names
from atlas.compute.datasets.spec import open_dataset
from atlas.compute.directions.diff import mean_difference
from atlas.compute.directions.nmf import factorize_layer
from atlas.jobs.runtime.kinds import JobContext, JobOutput, job_kind


def _output(ctx: JobContext, vectors: dict[str, np.ndarray], result: dict) -> JobOutput:
    """The job's result, and the write that inserts the directions ``{name: vector}`` of
    its layer, each audited (their vectors are in the blob store before it runs)."""
    layer = LayerAddress(ctx.params["model"], ctx.params["layer"])
    shas = {ctx.catalog.blobs.put_array(np.asarray(vector, np.float32)) for vector in vectors.values()}

    def write(session: Session) -> None:
        for name, vector in vectors.items():
            address, sha = directions.insert(session, ctx.catalog.blobs, layer, name, vector)
            audit.record(session, ctx.catalog.user, "feature.add_direction", "feature", str(address), None,
                         {"vector_sha256": sha, "job": ctx.job_id, "kind": ctx.job.kind})
    return JobOutput(result=result, write=write, blobs=tuple(sorted(shas)))


@job_kind(DIFF_KIND)
def direction_diff_job(ctx: JobContext) -> JobOutput:
    p = ctx.params
    model = ctx.model(p["model"])
    ctx.progress(0, None, f"mean activations of {p['layer']} over two image sets")
    vector = mean_difference(model, p["layer"], open_dataset(p["a"]), open_dataset(p["b"])).numpy()
    ctx.check_stop()
    return _output(ctx, {p["name"]: vector}, {"directions": [p["name"]], "norm": float(np.linalg.norm(vector))})


@job_kind(NMF_KIND)
def direction_nmf_job(ctx: JobContext) -> JobOutput:
    p = ctx.params
    model = ctx.model(p["model"])
    n = int(p["n"])
    ctx.progress(0, None, f"factorizing {p['layer']} into {n}")
    result = factorize_layer(model, p["layer"], open_dataset(p["dataset"]), n, int(p.get("iterations", 500)),
                             int(p.get("seed", 0)), int(p.get("max_rows", 200_000)))
    ctx.check_stop()
    names = nmf_names(p.get("prefix", "nmf"), n)
    return _output(ctx, dict(zip(names, result.directions.numpy(), strict=True)),
                   {"directions": names, "share": result.share.tolist(), "error": result.error})
