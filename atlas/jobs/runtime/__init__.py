"""The worker runtime: job kinds, the worker loop, heartbeats, progress and watching
jobs finish. Apart from the queue's storage (``atlas.jobs``), which knows nothing of it."""
