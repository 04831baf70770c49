"""Job kinds for connections and dataset examples.

A layer pair's connections are chunk jobs over the destination's units (``connections``:
measures and candidate kernels to the blob store) and one ``connections.rank`` job that
waits for them, ranks the whole pair and writes its edges in the transaction that
completes it (see ``atlas.compute.connections.chunks``). ``connections.directions`` is
one job for some directions of a layer and one neighbouring layer
(``atlas.compute.connections.directions``). ``examples`` is chunked by units (or
directions) too.
Kernels and image crops go to the blob store while a job runs; rows are written only
when the job completes.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from atlas.catalog import artifacts
from atlas.catalog.artifacts import NewArtifact
from atlas.catalog.resolve import target_ids
from atlas.compute.connections.chunks import pair_chunk, rank_chunks, store_chunk
from atlas.compute.connections.directions import direction_connections
from atlas.compute.connections.store import put_kernel_blobs, write_connections, write_direction_connections
from atlas.compute.datasets.spec import open_dataset
from atlas.compute.examples import SITE, example_blobs, top_examples
from atlas.db.blobs import blob_names
from atlas.errors import InvalidInput
from atlas.jobs.runtime.kinds import JobContext, JobOutput, job_kind
from atlas.vocabulary import DIRECTION_CONNECTIONS_KIND


@job_kind("connections")
def connections_chunk_job(ctx: JobContext) -> JobOutput:
    p = ctx.params
    model = ctx.model(p["model"])
    ctx.progress(0, None, f"{p['kind']} {p['src']} -> {p['layer']} units {p['units'][0]}-{p['units'][-1]}")
    dataset = open_dataset(p["dataset"]) if p["kind"] == "attribution" else None
    chunk = pair_chunk(model, p["kind"], p["src"], p["layer"], p["units"],
                       ctx.catalog.model(p["model"]).input_size, dataset, progress=ctx.progress,
                       operating_data=p.get("dataset") if p["kind"] == "expanded" else None)
    ctx.check_stop()
    return JobOutput(result=store_chunk(ctx.catalog.blobs, chunk, int(p["k"])))


@job_kind("connections.rank")
def connections_rank_job(ctx: JobContext) -> JobOutput:
    p = ctx.params
    queue = ctx.catalog.job_queue
    chunks = queue.get_many([job_id for job_id, _status in queue.dependencies(ctx.job_id)])
    unfinished = [job.id for job in chunks if job.status != "done"]
    if unfinished:
        raise InvalidInput(f"chunk jobs {unfinished[:10]} are not done")
    channels = ctx.catalog.layer(f"{p['model']}/{p['dst']}").channels
    ctx.progress(0, None, f"ranking {p['src']} -> {p['dst']} from {len(chunks)} chunks")
    conn, shas = rank_chunks(ctx.catalog.blobs, p["src"], p["dst"], p["kind"], int(p["k"]), channels,
                             [job.result for job in chunks])
    ctx.check_stop()

    def write(session: Session) -> None:
        write_connections(session, p["model"], conn, shas, bool(p.get("replace")))

    kernels = () if shas is None else tuple(sorted({sha.decode() for sha in set(shas.tolist()) if sha}))
    return JobOutput(result={"edges": len(conn), "pair": f"{p['src']}->{p['dst']}", "chunks": len(chunks)},
                     write=write, blobs=kernels)


@job_kind(DIRECTION_CONNECTIONS_KIND)
def direction_connections_job(ctx: JobContext) -> JobOutput:
    """The connections of some directions of ``layer`` with the units of ``other``: their
    inputs (``side="in"``, ``other`` the layer before) or outputs (``"out"``)."""
    p = ctx.params
    model = ctx.model(p["model"])
    names = list(p["directions"])
    vectors = ctx.catalog.direction_vectors(f"{p['model']}/{p['layer']}", names)
    ctx.progress(0, None, f"{p['kind']} connections of {len(names)} directions of {p['layer']} ({p['side']})")
    conn = direction_connections(model, p["kind"], p["side"], p["layer"], p["other"],
                                 np.stack([vectors[name] for name in names]), int(p["k"]),
                                 ctx.catalog.model(p["model"]).input_size, p.get("dataset"))
    ctx.check_stop()
    shas = put_kernel_blobs(ctx.catalog.blobs, conn, per_source=p["side"] == "out")

    def write(session: Session) -> None:
        write_direction_connections(session, p["model"], p["layer"], p["side"], names, conn, shas,
                                    bool(p.get("force")))

    kernels = () if shas is None else tuple(sorted({sha.decode() for sha in set(shas.tolist())}))
    return JobOutput(result={"edges": len(conn), "side": p["side"], "directions": names}, write=write,
                     blobs=kernels)


@job_kind("examples")
def examples_job(ctx: JobContext) -> JobOutput:
    p = ctx.params
    model = ctx.model(p["model"])
    names = p.get("directions", [])
    vectors = ctx.catalog.direction_vectors(f"{p['model']}/{p['layer']}", names)
    result = top_examples(model, p["layer"], open_dataset(p["dataset"]), p["units"], int(p.get("k", 9)),
                          ctx.device, progress=ctx.progress, directions=vectors)
    ctx.check_stop()
    params = {"dataset": p["dataset"], "k": int(p.get("k", 9)), "field": list(result.field), "site": SITE}
    rows = [(target, example_blobs(ctx.catalog.blobs, result, row)) for row, target in enumerate(result.targets)]

    def write(session: Session) -> None:
        ids = target_ids(session, f"{p['model']}/{p['layer']}", p["units"], names)
        new = [NewArtifact(ids[target], "examples", params, blobs) for target, blobs in rows]
        artifacts.put_many(session, new, ctx.job_id, bool(p.get("force")))

    return JobOutput(result={"rendered": len(rows)}, write=write,
                     blobs=tuple(sorted(blob_names([blobs for _, blobs in rows]))))
