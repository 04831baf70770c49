"""Jobs: the compute queue with live progress, and queueing compute for a layer.

Workers (`atlas worker`, on this machine or many) run the jobs; this page only queues and
watches them. The table refreshes itself every few seconds without rerunning the page.
"""

from datetime import timedelta

import pandas as pd
import streamlit as st
from components.flash import flash
from identity import can_write
from session import page

from atlas import AtlasError
from atlas.vocabulary import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CHUNK_UNITS,
    DEMO_VIS_LR,
    DEMO_VIS_STEPS,
    JOB_STATUSES,
    USER_ACTIONS,
    VIS_KINDS,
)

REFRESH = timedelta(seconds=2)

cat, user = page()
st.title("Jobs")


def table(jobs: list) -> pd.DataFrame:
    return pd.DataFrame([{
        "id": job.id, "kind": job.kind, "status": job.status,
        "target": f"{job.params.get('model', '')}/{job.params.get('layer', '')}".strip("/"),
        "units": len(job.params.get("units", [])) or None, "progress": job.fraction,
        "message": job.progress_message or job.error or "", "tries": f"{job.attempts}/{job.max_attempts}",
        "created": job.created_at,
    } for job in jobs])


def time_left(seconds: float) -> str:
    minutes = seconds / 60
    return f"{seconds:.0f} s" if seconds < 90 else f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"


def workers_note(counts: dict[str, int], jobs: list) -> None:
    """Say when queued jobs have nobody to run them, and how long the rest should take."""
    pending = counts.get("queued", 0) + counts.get("waiting", 0)
    if not pending and not counts.get("running", 0):
        return
    activity = cat.worker_activity()
    if pending and not activity.seen:
        st.warning(f"{pending} job{'s' if pending != 1 else ''} waiting, but no worker has been seen for "
                   f"{activity.seen_window_s:.0f} s. Start one on a machine that reaches this catalogue: "
                   "`atlas worker` (with the same `--db` and `--blobs` as the app; `--device cuda` on a GPU).")
    running = sum(1 - job.fraction for job in jobs if job.status == "running")
    seconds = activity.seconds_left(pending + running)
    if seconds is not None:
        st.caption(f"About {time_left(seconds)} left at the rate of the last {activity.rate_window_s / 60:.0f} "
                   f"minutes ({activity.finished} job{'s' if activity.finished != 1 else ''} done).")


@st.fragment(run_every=REFRESH)
def queue_view() -> None:
    counts = cat.job_counts()
    for column, status in zip(st.columns(len(JOB_STATUSES)), JOB_STATUSES):
        column.metric(status, counts.get(status, 0))
    jobs = cat.jobs(limit=100)
    if not jobs:
        st.caption("No jobs yet.")
        return
    workers_note(counts, jobs)
    st.dataframe(table(jobs), hide_index=True, width="stretch", column_config={
        "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
    })


queue_view()
if not can_write(user):
    st.caption(f"{user.name} is a viewer: curators queue and cancel jobs.")
    st.stop()

left, right = st.columns(2)
with left:
    st.markdown("**Visualize a layer** (workers: `atlas worker`)")
    # Outside the form: the image size follows the chosen layer's model at once.
    layers = [layer.address for m in cat.models() for layer in cat.layers(m.name)]
    layer = st.selectbox("Layer", layers, key="jobs-layer")
with left, st.form("enqueue"):
    kinds = st.multiselect("Visualizations", VIS_KINDS, default=["channel"], key="jobs-vis-kinds")
    knobs = st.columns(4)
    # The demo atlas's settings at the model's own input size: one default, not two.
    input_size = cat.model(layer.split("/")[0]).input_size if layer else 128
    size = knobs[0].number_input("Image size", 32, 512, input_size, key=f"jobs-size-{layer}")
    steps = knobs[1].number_input("Steps", 1, 4096, DEMO_VIS_STEPS, key="jobs-steps")
    lr = knobs[2].number_input("Learning rate", 0.001, 1.0, DEMO_VIS_LR, format="%.3f", key="jobs-lr")
    chunk = knobs[3].number_input("Units per job", 1, 1024, DEFAULT_CHUNK_SIZE, key="jobs-chunk")
    if st.form_submit_button("Queue"):
        params = {"kinds": kinds, "render": {"size": int(size), "steps": int(steps), "lr": float(lr)},
                  "force": False}
        try:
            ids = cat.enqueue_layer_compute("vis", layer, int(chunk), params, author=user.name)
        except AtlasError as exc:
            st.error(str(exc))
        else:
            flash(f"Queued {len(ids)} visualization job{'s' if len(ids) != 1 else ''} for {layer}.")
with right:
    st.markdown("**Connections between two layers** (top-k inputs and outputs per unit)")
    # Outside the form: the layers offered below follow the model at once.
    model = st.selectbox("Model", [m.name for m in cat.models()], key="jobs-conn-model")
with right, st.form("connections"):
    names = [layer.name for layer in cat.layers(model) if layer.spatial_shape] if model else []
    ends = st.columns(2)
    src = ends[0].selectbox("From", names, key="jobs-conn-src")
    dst = ends[1].selectbox("To", names, index=min(1, len(names) - 1) if names else 0, key="jobs-conn-dst")
    knobs = st.columns(3)
    edge_kind = knobs[0].selectbox("Kind", ("direct", "expanded"), key="jobs-conn-kind",
                                   help="attribution needs a dataset: `atlas compute attribution`")
    k = knobs[1].number_input("Top k", 1, 200, 20, key="jobs-conn-k")
    chunk = knobs[2].number_input("Units per job", 1, 4096, DEFAULT_CHUNK_UNITS, key="jobs-conn-chunk")
    if st.form_submit_button("Queue"):
        try:
            ids = cat.enqueue_connections(f"{model}/{src}", f"{model}/{dst}", edge_kind, int(k), int(chunk),
                                          author=user.name)
        except AtlasError as exc:
            st.error(str(exc))
        else:
            flash(f"Queued {len(ids) - 1} {edge_kind} connection job{'s' if len(ids) != 2 else ''} for "
                  f"{model}/{src} → {dst} and one ranking job that waits for them.")

with st.form("cancel"):
    st.markdown("**Cancel or retry a job** (cancelling also cancels the jobs waiting for it; retrying a "
                "failed job brings them back)")
    job_id = st.number_input("Job id", 1, step=1, key="jobs-cancel-id")
    buttons = st.columns(2)
    cancel, retry = buttons[0].form_submit_button("Cancel job"), buttons[1].form_submit_button("Retry job")
    if cancel or retry:
        done, applies = USER_ACTIONS["cancel" if cancel else "retry"]
        try:
            changed = (cat.cancel_job if cancel else cat.retry_job)(int(job_id), author=user.name)
        except AtlasError as exc:
            st.error(str(exc))
        else:
            if changed:
                flash(f"Job {job_id} {done}.")
            else:
                st.warning(f"Job {job_id} is not {applies}: nothing to do.")
