"""Durable compute jobs in the catalogue's database, and the workers that run them.

    from atlas.jobs import JobContext, JobOutput, job_kind, enqueue_layer_chunks, wait_for_jobs

    @job_kind("vis.channel")
    def render(ctx: JobContext) -> JobOutput: ...

    ids = enqueue_layer_chunks(catalog, "vis.channel", "demo", "conv3", chunk_size=8)
    wait_for_jobs(catalog, ids)          # while `atlas worker` processes run the chunks

Users queue the project's computes through the catalogue (``Catalog.enqueue_layer_compute``,
``Catalog.enqueue_connections``), which checks their role and the job's parameters
(``atlas.jobs.params``) and audits the enqueue; the helpers here are its building blocks.
"""

from atlas.jobs.chunks import enqueue_layer_chunks
from atlas.jobs.queue import JobQueue
from atlas.jobs.records import FINISHED, JobInfo, JobSpec, LeaseLost
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
    "FINISHED", "JobContext", "JobInfo", "JobInterrupted", "JobOutput", "JobQueue", "JobSpec",
    "LeaseLost", "Worker", "WorkerConfig", "enqueue_layer_chunks", "import_kind_modules",
    "job_kind", "register_kind", "registered_kinds", "status_summary", "wait_for_jobs",
]
