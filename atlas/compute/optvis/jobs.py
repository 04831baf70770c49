"""The ``vis`` job kind: feature visualizations of a chunk of a layer's units or directions.

Images go to the blob store while the job runs (content-addressed, harmless to repeat);
the artifact rows are written in the transaction that completes the job, so a crashed or
superseded worker leaves no rows and a job's results are stored exactly once.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from atlas.catalog import artifacts
from atlas.catalog.artifacts import NewArtifact
from atlas.catalog.resolve import target_ids
from atlas.compute.optvis.render import RenderParams
from atlas.compute.optvis.store import artifact_kind, encode, outcome, plan, render_planned
from atlas.db.blobs import blob_names
from atlas.jobs.runtime.kinds import JobContext, JobOutput, job_kind

KIND = "vis"
RENDER_KNOBS = ("size", "steps", "lr", "seed", "param", "diversity_n", "diversity_weight", "site", "cossim_pow")


def render_params(knobs: dict) -> RenderParams:
    """RenderParams from the JSON knobs a job carries (standard transforms otherwise)."""
    return RenderParams(**{k: v for k, v in knobs.items() if k in RENDER_KNOBS})


def chunk_label(p: dict) -> str:
    """``units 0–31`` or ``directions a–f``: what a chunk job works on, for its progress."""
    if p["units"]:
        return f"{p['layer']} units {p['units'][0]}–{p['units'][-1]}"
    return f"{p['layer']} directions {p['directions'][0]}–{p['directions'][-1]}"


@job_kind(KIND)
def render_chunk(ctx: JobContext) -> JobOutput:
    p = ctx.params
    params = render_params(p.get("render", {}))
    force = bool(p.get("force", False))
    names = p.get("directions", [])
    todo, skipped = plan(ctx.catalog, p["model"], p["layer"], p["units"], p["kinds"], params, force, names)
    if not todo:
        return JobOutput(result={"rendered": 0, "skipped": len(skipped)})
    model = ctx.model(p["model"])
    vectors = ctx.catalog.direction_vectors(f"{p['model']}/{p['layer']}", names)

    def step(done: int, total: int) -> None:
        ctx.progress(done, total, chunk_label(p))

    rows = []
    for (kind, target), result in render_planned(model, p["layer"], todo, params, ctx.device,
                                                 p.get("max_batch", 64), step, ctx.check_stop, vectors):
        knobs = params.to_dict(kind, isinstance(target, str))
        rows.append((target, artifact_kind(kind), knobs, encode(ctx.catalog, kind, result), outcome(result)))

    def write(session: Session) -> None:
        ids = target_ids(session, f"{p['model']}/{p['layer']}", p["units"], names)
        artifacts.put_many(session, [NewArtifact(ids[target], kind, knobs, blobs, found)
                                     for target, kind, knobs, blobs, found in rows], ctx.job_id, force)

    return JobOutput(result={"rendered": len(rows), "skipped": len(skipped)}, write=write,
                     blobs=tuple(sorted(blob_names([blobs for *_, blobs, _found in rows]))))
