import streamlit as st

from atlas import AtlasError, VersionConflict
from session import catalog, current_user

cat = catalog()
user = current_user(cat)
st.title("Unit")
address = st.text_input("Address (model/layer/unit)", value=st.session_state.get("unit_address", ""))
if not address:
    st.stop()
try:
    feature = cat.feature(address)
except AtlasError as exc:
    st.error(str(exc))
    st.stop()
st.session_state["unit_address"] = feature.address

st.header(feature.address)
label = feature.label
st.subheader(label.text if label else "(unlabelled)")
if label:
    st.caption(f"{label.status} · v{label.version} by {label.author}")
for artifact in cat.artifacts(feature.address):
    image = artifact.blobs.get("image")
    if image:
        st.image(cat.blobs.get_png(image), caption=artifact.kind, width=160)

with st.form("propose"):
    text = st.text_input("Label", value=label.text if label else "", key="label_text")
    status = st.selectbox("Status", ["proposed", "disputed", "accepted", "rejected"])
    if st.form_submit_button("Save label"):
        try:
            cat.set_label(feature.address, text, status, author=user, expected_version=feature.label_version)
            st.success("Saved.")
            st.rerun()
        except VersionConflict as exc:
            st.error(str(exc))
        except AtlasError as exc:
            st.error(str(exc))

st.subheader("History")
for item in reversed(cat.label_history(feature.address)):
    st.write(f"v{item.version} · **{item.text}** · {item.status} · {item.author}")
for title, edges, end in (("Top inputs", cat.top_inputs(feature.address), "src"),
                          ("Top outputs", cat.top_outputs(feature.address), "dst")):
    st.subheader(title)
    for edge in edges:
        st.write(f"{getattr(edge, end)} · {edge.strength:.3g}")
