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
from atlas.vocabulary import DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_UNITS, JOB_STATUSES, USER_ACTIONS, VIS_KINDS

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


@st.fragment(run_every=REFRESH)
def queue_view() -> None:
    counts = cat.job_counts()
    for column, status in zip(st.columns(len(JOB_STATUSES)), JOB_STATUSES):
        column.metric(status, counts.get(status, 0))
    jobs = cat.jobs(limit=100)
    if not jobs:
        st.caption("No jobs yet.")
        return
    st.dataframe(table(jobs), hide_index=True, width="stretch", column_config={
        "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
    })


queue_view()
if not can_write(user):
    st.caption(f"{user.name} is a viewer: curators queue and cancel jobs.")
    st.stop()

left, right = st.columns(2)
with left, st.form("enqueue"):
    st.markdown("**Visualize a layer** (workers: `atlas worker`)")
    layers = [layer.address for m in cat.models() for layer in cat.layers(m.name)]
    layer = st.selectbox("Layer", layers, key="jobs-layer")
    kinds = st.multiselect("Visualizations", VIS_KINDS, default=["channel"], key="jobs-vis-kinds")
    knobs = st.columns(3)
    size = knobs[0].number_input("Image size", 32, 512, 128, key="jobs-size")
    steps = knobs[1].number_input("Steps", 1, 4096, 512, key="jobs-steps")
    chunk = knobs[2].number_input("Units per job", 1, 1024, DEFAULT_CHUNK_SIZE, key="jobs-chunk")
    if st.form_submit_button("Queue"):
        params = {"kinds": kinds, "render": {"size": int(size), "steps": int(steps)}, "force": False}
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
