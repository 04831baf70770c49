"""Durable compute jobs in the catalogue's database: the queue's storage.

    from atlas.jobs import JobQueue, JobSpec

    queue.enqueue_many([JobSpec("vis", {...}, dedupe_key=...)])

Users queue the project's computes through the catalogue (``Catalog.enqueue_layer_compute``,
``Catalog.enqueue_connections``), which checks their role and the job's parameters
(``atlas.jobs.params``), audits the enqueue and uses its own ``JobQueue``; the helpers here
are its building blocks. They know nothing of the catalogue: they take the queue and the
layers they need. The workers that run jobs are ``atlas.jobs.runtime``.
"""

from atlas.jobs.chunks import LayerShape, enqueue_chunks
from atlas.jobs.pairs import enqueue_pair
from atlas.jobs.queue import JobQueue
from atlas.jobs.records import JobInfo, JobSpec, LeaseLost
from atlas.vocabulary import FINISHED

__all__ = [
    "FINISHED", "JobInfo", "JobQueue", "JobSpec", "LayerShape", "LeaseLost", "enqueue_chunks", "enqueue_pair",
]
