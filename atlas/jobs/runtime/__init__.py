"""The worker runtime: job kinds, the worker loop, heartbeats, progress and watching
jobs finish. Apart from the queue's storage (``atlas.jobs``), which knows nothing of it.

    from atlas.jobs.runtime import JobContext, JobOutput, job_kind, enqueue_layer_chunks, wait_for_jobs

    @job_kind("vis.channel")
    def render(ctx: JobContext) -> JobOutput: ...

    ids = enqueue_layer_chunks(catalog, "vis.channel", "demo", "conv3", chunk_size=8)
    wait_for_jobs(catalog, ids)          # while `atlas worker` processes run the chunks
"""

from atlas.jobs.runtime.enqueue import enqueue_connections, enqueue_layer_chunks
from atlas.jobs.runtime.kinds import (
    JobContext,
    JobInterrupted,
    JobOutput,
    import_kind_modules,
    job_kind,
    register_kind,
    registered_kinds,
)
from atlas.jobs.runtime.watch import status_summary, wait_for_jobs
from atlas.jobs.runtime.worker import Worker, WorkerConfig

__all__ = [
    "JobContext", "JobInterrupted", "JobOutput", "Worker", "WorkerConfig", "enqueue_connections",
    "enqueue_layer_chunks", "import_kind_modules", "job_kind", "register_kind", "registered_kinds",
    "status_summary", "wait_for_jobs",
]
