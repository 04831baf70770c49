"""Job kinds for connections and dataset examples.

``connections`` computes one layer pair (direct, expanded or attribution edges): top-k
outputs of a source unit need every destination unit, so a pair is one job. ``examples``
is chunked by units, so several workers share a layer. Kernels and image crops go to the
blob store while the job runs; edges and artifact rows are written in the transaction
that completes the job.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from atlas import artifacts
from atlas.connections import (
    attribution_connections,
    direct_connections,
    expanded_connections,
    put_kernel_blobs,
    write_connections,
)
from atlas.datasets.spec import open_dataset
from atlas.examples import example_blobs, top_examples
from atlas.jobs.kinds import JobContext, JobOutput, job_kind
from atlas.lookup import get_feature
from atlas.registration import load_registered


def input_size(ctx: JobContext) -> int:
    spec = ctx.catalog.model(ctx.params["model"]).input_spec or {}
    return int(spec.get("shape", [3, 224, 224])[-1])


@job_kind("connections")
def connections_job(ctx: JobContext) -> JobOutput:
    p = ctx.params
    model = load_registered(ctx.catalog, p["model"], ctx.device)
    kind, k = p["kind"], int(p.get("k", 20))
    ctx.progress(0, None, f"{kind} {p['src']} -> {p['dst']}")
    if kind == "direct":
        conn = direct_connections(model, p["src"], p["dst"], k, ctx.device, input_size(ctx))
    elif kind == "expanded":
        conn = expanded_connections(model, p["src"], p["dst"], k, ctx.device, input_size=input_size(ctx),
                                    progress=ctx.progress)
    else:
        conn = attribution_connections(model, p["src"], p["dst"], open_dataset(p["dataset"]), k, ctx.device,
                                       progress=ctx.progress)
    ctx.check_stop()
    shas = put_kernel_blobs(ctx.catalog.blobs, conn)
    written = {"edges": 0}

    def write(session: Session) -> None:
        written["edges"] = write_connections(session, p["model"], conn, shas, bool(p.get("replace")))

    return JobOutput(result={"edges": len(conn), "pair": f"{p['src']}->{p['dst']}"}, write=write)


@job_kind("examples")
def examples_job(ctx: JobContext) -> JobOutput:
    p = ctx.params
    model = load_registered(ctx.catalog, p["model"], ctx.device)
    result = top_examples(model, p["layer"], open_dataset(p["dataset"]), p["units"], int(p.get("k", 9)),
                          ctx.device, progress=ctx.progress)
    ctx.check_stop()
    params = {"dataset": p["dataset"], "k": int(p.get("k", 9)), "field": list(result.field)}
    rows = [(f"{p['model']}/{p['layer']}/{unit}", example_blobs(ctx.catalog.blobs, result, row))
            for row, unit in enumerate(result.units)]

    def write(session: Session) -> None:
        for address, blobs in rows:
            artifacts.put(session, get_feature(session, address)[0].id, "examples", params, blobs, ctx.job_id,
                          bool(p.get("force")))

    return JobOutput(result={"rendered": len(rows)}, write=write)
