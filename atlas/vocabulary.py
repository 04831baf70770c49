"""The words of the catalogue: statuses, roles, kinds, chunk defaults and the phrases a
user reads, defined once.

Torch-free and free of SQLAlchemy, so the ORM's check constraints, the job parameter
validators, the visualization objectives, the app's select boxes and the CLI's
``--choices`` all name the same values: adding a status here adds it everywhere (a check
constraint still needs its migration).
"""

from __future__ import annotations

from collections.abc import Mapping

# -- users -----------------------------------------------------------------------------

ROLES = ("viewer", "curator", "reviewer", "admin")  # each role may do what the ones before it may

# -- curated objects --------------------------------------------------------------------

LABEL_STATUSES = ("proposed", "accepted", "disputed", "rejected")
REVIEW_STATUSES = ("accepted", "rejected")  # a reviewer's verdicts
JUDGING_STATUSES = (*REVIEW_STATUSES, "disputed")  # a verdict on someone's text, not a proposal
CIRCUIT_STATUSES = ("draft", "proposed", "accepted", "disputed", "rejected")
CIRCUIT_EDGE_SIGNS = ("excitatory", "inhibitory")  # what a curated circuit edge is said to do
# A claim with an experiment follows its latest run (a verdict); "supported" is a
# reviewer's judgement of a claim no program can test.
VERDICTS = ("held", "refuted", "inconclusive")
CLAIM_STATUSES = ("untested", "supported", *VERDICTS)
FEATURE_KINDS = ("unit", "direction")
EVIDENCE_KINDS = (
    "note", "link", "image", "visualization", "examples", "tuning_curve", "ablation", "weight_edit",
)

# -- computed objects -------------------------------------------------------------------

EDGE_KINDS = ("direct", "expanded", "attribution")
WEIGHT_EDGE_KINDS = ("direct", "expanded")  # strength is the kernel's norm; the sign is its net mass
EDGE_KIND_NAMES = {"direct": "direct weights", "expanded": "expanded weights",
                   "attribution": "attribution (activation x gradient on data)", "curated": "curated"}
# How a unit's inputs or outputs are ordered: by strength (norm, |attribution|), by signed
# net mass (most excitatory first, most inhibitory last), or only one sign, strongest first.
EDGE_SORTS = ("strength", "net", "excitatory", "inhibitory")
# How a unit of one layer is wired to the layer before (``atlas.compute.connections.direct``):
# a conv reads the source itself ("direct"), reads it through a pool, so its kernel is in
# pooled coordinates ("pooled"), or reads another conv that reads it: no direct weights
# ("indirect"; expanded weights show the connection).
DIRECT_PATH_KINDS = ("direct", "pooled", "indirect")
VIS_KINDS = ("channel", "neuron", "negative", "diversity")  # what a ``vis`` job renders
# Where a layer is read (atlas.compute.preactivation): before its nonlinearity, or its output.
ACTIVATION_SITES = ("pre", "post")
VIS_ARTIFACT_PREFIX = "vis."
VIS_ARTIFACT_KINDS = tuple(VIS_ARTIFACT_PREFIX + kind for kind in VIS_KINDS)  # ``vis.channel``, …
EXAMPLES_ARTIFACT = "examples"
TUNING_ARTIFACT = "tuning_curve"  # one unit's curve along one sweep (``tuning`` jobs)
THUMBNAIL_ARTIFACT = VIS_ARTIFACT_PREFIX + "channel"  # the image a unit card shows
# Relations between things of two models (``atlas.catalog.relations``): features that are
# "analogous" (matched by activation correlation), layers that are "similar" (CKA), and
# families that are analogous or whose members are the "inputs_of" another family's (a
# circuit between the two layers, as a source publishes it).
RELATIONS = ("analogous", "similar", "inputs_of")
# How a relation was found: correlation of spatially pooled or per-position activations,
# kept in a one-to-one assignment or as each feature's best partner; linear CKA of layers.
MATCH_METHODS = ("pooled.assignment", "pooled.best", "spatial.assignment", "spatial.best")
CKA_METHOD = "cka.linear"
# Families proposed as analogous (``atlas families propose``): from their members' matches
# and tuning curves, stored for curators to accept.
FAMILY_PROPOSAL_METHOD = "families.propose"
# Its defaults: a match's correlation, how far preferred stimuli may differ (a fraction of
# the sweep's range), and how selective both units must be for a sweep to count.
PROPOSAL_MIN_SCORE, PROPOSAL_TOLERANCE, PROPOSAL_MIN_SELECTIVITY = 0.6, 0.1, 0.2
# A relation a source states (an article's figure), not measured here: it carries the
# source and no score (``relations.score`` is null for it alone; migration 0010).
PUBLISHED_METHOD = "published"
MAX_SOURCE_CHARS = 500  # its source: one URL
RELATION_METHODS = (*MATCH_METHODS, CKA_METHOD, FAMILY_PROPOSAL_METHOD, PUBLISHED_METHOD)
# A measured score is a correlation or a linear CKA: within [-1, 1], up to rounding.
SCORE_BOUND = 1.0 + 1e-6

# -- jobs -------------------------------------------------------------------------------

# "waiting": queued behind other jobs (JobDependency) that are not done yet.
JOB_STATUSES = ("waiting", "queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
PENDING = ("waiting", "queued", "running")
CONNECTION_KINDS = ("connections", "connections.rank")  # the job kinds of one connections compute
DIRECTION_CONNECTIONS_KIND = "connections.directions"  # the job kind of directions' connections
# Where a command runs its jobs (``atlas compute … --executor``): in this process, or as
# tasks on a Ray cluster (``atlas.compute.ray_executor``).
EXECUTORS = ("local", "ray")
MAX_FACTORS = 64  # directions one factorization (``directions.nmf``) makes
# Units per chunk job: what a caller that names none gets, and the CLI's and demo's
# defaults per kind (rendering is slower per unit than a pass over a dataset).
DEFAULT_CHUNK_SIZE = 16
VIS_CHUNK_UNITS = 32
# The demo atlas's render settings, also the app's defaults (one setting, not two): 128
# steps at lr 0.15 is the cheapest setting measured whose median demo unit reaches 90% of
# the 512-step activation at lr 0.05 (0.92; 10th percentile 0.81), at the cost of the old
# setting (128 steps at lr 0.05: 0.72, 0.56); docs/science.md, "Demo render settings".
DEMO_VIS_STEPS = 128
DEMO_VIS_LR = 0.15
EXAMPLES_CHUNK_UNITS = 64
TUNING_CHUNK_UNITS = 256  # one pass over the sweep serves every unit of a chunk
DEFAULT_CHUNK_UNITS = 128  # destination units per connections job
COMPARE_KINDS = ("compare", "compare.match")  # the job kinds of one comparison of two layers
COMPARE_CHUNK_IMAGES = 1000  # images per ``compare`` job: their statistics add up
# What a user's action on a job does, and to which jobs it applies (CLI and app say the same).
USER_ACTIONS = {"retry": ("queued again", "failed or cancelled"),
                "cancel": ("cancelled", "waiting, queued or running")}


def vis_artifact_kind(kind: str) -> str:
    """``channel`` -> ``vis.channel``: the artifact kind of a visualization kind (unchecked)."""
    return VIS_ARTIFACT_PREFIX + kind


def format_counts(counts: Mapping[str, int]) -> str:
    """E.g. ``"3 done, 1 running, 2 queued"`` (statuses in lifecycle order)."""
    order = ("done", "running", "queued", "waiting", "failed", "cancelled")
    return ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s))
