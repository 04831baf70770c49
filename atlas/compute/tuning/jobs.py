"""The ``tuning`` job kind: tuning curves of a chunk of a layer's units along one sweep.

Plots, curves and summaries go to the blob store while the job runs; the artifact rows
are written in the transaction that completes the job (a crashed worker leaves none).
The job's result lists each unit's preferred value and selectivity, for the CLI to print.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from atlas.catalog import artifacts
from atlas.catalog.artifacts import NewArtifact
from atlas.catalog.resolve import unit_ids
from atlas.compute.tuning.curves import tuning_curves
from atlas.compute.tuning.store import tuning_blobs
from atlas.db.blobs import blob_names
from atlas.jobs.runtime.kinds import JobContext, JobOutput, job_kind
from atlas.vocabulary import TUNING_ARTIFACT

KIND = "tuning"


@job_kind(KIND)
def tuning_job(ctx: JobContext) -> JobOutput:
    p = ctx.params
    curves = tuning_curves(ctx.model(p["model"]), p["layer"], p["sweep"], p["units"],
                           ctx.catalog.model(p["model"]).input_size, ctx.device, progress=ctx.progress)
    ctx.check_stop()
    summaries = curves.summaries()
    rows = list(zip(curves.units, tuning_blobs(ctx.catalog.blobs, curves, summaries)))
    params = curves.params()

    def write(session: Session) -> None:
        ids = unit_ids(session, f"{p['model']}/{p['layer']}")
        new = [NewArtifact(int(ids[unit]), TUNING_ARTIFACT, params, blobs) for unit, blobs in rows]
        artifacts.put_many(session, new, ctx.job_id, bool(p.get("force")))

    result = {"rendered": len(rows), "sweep": curves.spec, "parameter": curves.parameter,
              "units": [{"unit": unit, **summary} for unit, summary in zip(curves.units, summaries)]}
    return JobOutput(result=result, write=write, blobs=tuple(sorted(blob_names([b for _, b in rows]))))
