"""The ``experiment`` job kind: run one claim's experiment and store its result.

The result row and the claim's new status are written in the transaction that completes
the job (``atlas.jobs.runtime.kinds``), so a crashed run leaves no partial evidence; the
plot goes to the blob store first (content-addressed, harmless if orphaned).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.catalog import claim_results
from atlas.compute.experiments.run import run_experiment
from atlas.db.models import User
from atlas.jobs.runtime.kinds import JobContext, JobOutput, job_kind


@job_kind("experiment")
def experiment_job(ctx: JobContext) -> JobOutput:
    p = ctx.params
    registered = ctx.catalog.model(p["model"])
    registered.check_not_imported()
    classes = (registered.input_spec or {}).get("classes")
    outcome = run_experiment(ctx.model(p["model"]), p["experiment"], input_size=registered.input_size,
                             model_name=registered.name, weights_sha256=registered.weights_sha256,
                             classes=classes, progress=ctx.progress)
    ctx.check_stop()
    plot = ctx.catalog.blobs.put_bytes(outcome.plot)

    def write(session: Session) -> None:
        author = session.scalars(select(User).where(User.name == p["author"])).one()
        claim_results.record(session, int(p["claim_id"]), outcome.verdict, outcome.result, [plot],
                             ctx.job_id, author)

    return JobOutput(result={"claim_id": p["claim_id"], "verdict": outcome.verdict}, write=write, blobs=(plot,))
