"""The job kinds of a comparison (``atlas.jobs.compare`` queues them).

``compare``: one chunk of the stimulus set through both models, its moments to the blob
store (named in the job's result). ``compare.match`` waits for the chunks, merges their
moments, matches the two layers' features, computes every layer pair's CKA and its
heatmap, and writes the relations in the transaction that completes it
(``atlas.catalog.relations``; a crashed worker writes none).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from atlas.address import LayerAddress, parse_layer
from atlas.catalog import relations
from atlas.compute.universality.analysis import Comparison, analyse
from atlas.compute.universality.measure import ChunkMoments, Side, measure_part
from atlas.compute.universality.moments import Moments
from atlas.compute.universality.plot import plot_cka
from atlas.db.blobs import BlobStore
from atlas.errors import InvalidInput
from atlas.jobs.runtime.kinds import JobContext, JobOutput, job_kind
from atlas.vocabulary import CKA_METHOD, COMPARE_KINDS

CHUNK_KIND, MATCH_KIND = COMPARE_KINDS


def _side(ctx: JobContext, layer: str, layers: list[str]) -> Side:
    address = parse_layer(layer)
    return Side(ctx.model(address.model), ctx.catalog.model(address.model).input_size, layers, address.layer)


def _put_moments(blobs: BlobStore, moments: Moments | None) -> dict | None:
    if moments is None:
        return None
    mean, comoment = moments.arrays()
    return {"n": moments.n, "mean": blobs.put_array(mean), "comoment": blobs.put_array(comoment)}


def _get_moments(blobs: BlobStore, stored: dict | None) -> Moments | None:
    if stored is None:
        return None
    return Moments.from_arrays(stored["n"], blobs.get_array(stored["mean"]), blobs.get_array(stored["comoment"]))


@job_kind(CHUNK_KIND)
def compare_chunk_job(ctx: JobContext) -> JobOutput:
    p = ctx.params
    a, b = _side(ctx, p["a"], p["layers_a"]), _side(ctx, p["b"], p["layers_b"])
    stats = measure_part(a, b, p["part"], ctx.device, progress=ctx.progress)
    ctx.check_stop()
    blobs = ctx.catalog.blobs
    return JobOutput(result={"widths_a": stats.widths_a, "widths_b": stats.widths_b, "layers_a": p["layers_a"],
                             "layers_b": p["layers_b"], "pooled": _put_moments(blobs, stats.pooled),
                             "spatial": _put_moments(blobs, stats.spatial)})


def merged(blobs: BlobStore, results: list[dict]) -> ChunkMoments:
    """The chunks' moments merged into one (every chunk read the same layers); per
    position only if every chunk had it (the matched maps' sizes do not change, but a
    folder's images could differ from a sweep's)."""
    first = results[0]
    if any((r["widths_a"], r["widths_b"]) != (first["widths_a"], first["widths_b"]) for r in results):
        raise InvalidInput("the chunks of this comparison read layers of different widths")
    pooled = Moments.empty(sum(first["widths_a"]) + sum(first["widths_b"]))
    for result in results:
        pooled.merge(_get_moments(blobs, result["pooled"]) or Moments.empty(0))
    spatial = None
    if all(result["spatial"] is not None for result in results):
        spatial = Moments.empty(0)
        for result in results:
            spatial.merge(_get_moments(blobs, result["spatial"]) or Moments.empty(0))
    return ChunkMoments(first["widths_a"], first["widths_b"], pooled, spatial)


@job_kind(MATCH_KIND)
def compare_match_job(ctx: JobContext) -> JobOutput:
    p = ctx.params
    queue = ctx.catalog.job_queue
    chunks = queue.get_many([job_id for job_id, _status in queue.dependencies(ctx.job_id)])
    unfinished = [job.id for job in chunks if job.status != "done"]
    if unfinished or not chunks:
        raise InvalidInput(f"chunk jobs {unfinished[:10]} are not done")
    a, b = parse_layer(p["a"]), parse_layer(p["b"])
    layers_a, layers_b = chunks[0].result["layers_a"], chunks[0].result["layers_b"]  # type: ignore[index]
    ctx.progress(0, None, f"matching {a} ~ {b} from {len(chunks)} chunks")
    stats = merged(ctx.catalog.blobs, [job.result or {} for job in chunks])
    directions = [ctx.catalog.direction_vectors(str(layer), [d.direction or "" for d in
                                                             ctx.catalog.directions(str(layer))])
                  for layer in (a, b)]
    comparison = analyse(stats, layers_a, layers_b, a.layer, b.layer, *directions)
    ctx.check_stop()
    title = f"linear CKA, {a.model} (rows) ~ {b.model} (columns), {comparison.images} images"
    heatmap = ctx.catalog.blobs.put_png(plot_cka(comparison.cka, layers_a, layers_b, title))
    stimuli, replace = p["stimuli"], bool(p.get("force"))

    def write(session: Session) -> None:
        write_comparison(session, comparison, a, b, layers_a, layers_b, stimuli, heatmap, ctx.job_id, replace)

    return JobOutput(result={"images": comparison.images, "spaces": sorted(comparison.matches),
                             "pairs": len(comparison.matches["pooled"].assignment), "heatmap": heatmap,
                             "layers_a": layers_a, "layers_b": layers_b,
                             "cka": comparison.cka.round(6).tolist()},
                     write=write, blobs=(heatmap,))


def write_comparison(session: Session, comparison: Comparison, a: LayerAddress, b: LayerAddress,
                     layers_a: list[str], layers_b: list[str], stimuli: dict, heatmap: str,
                     job_id: int | None, replace: bool) -> None:
    """The comparison's relations: per space, the assignment and both sides' best
    partners of the matched layers; the CKA of every layer pair (with the heatmap)."""
    ta, tb = comparison.targets_a, comparison.targets_b
    for space, matching in comparison.matches.items():
        for method, src, dst, rows in (
            (f"{space}.assignment", a, b, [(ta[r], tb[c], s) for r, c, s in matching.assignment]),
            (f"{space}.best", a, b, [(ta[r], tb[c], s) for r, c, s in matching.best_a]),
            (f"{space}.best", b, a, [(tb[c], ta[r], s) for c, r, s in matching.best_b]),
        ):
            relations.put_pair(session, "analogous", method, stimuli, src, dst, rows, job_id=job_id, replace=replace)
    for i, layer_a in enumerate(layers_a):
        for j, layer_b in enumerate(layers_b):
            relations.put_pair(session, "similar", CKA_METHOD, stimuli, LayerAddress(a.model, layer_a),
                               LayerAddress(b.model, layer_b), [(None, None, float(comparison.cka[i, j]))],
                               {"heatmap": heatmap}, job_id, replace)
