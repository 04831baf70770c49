import streamlit as st

from session import catalog, current_user

cat = catalog()
current_user(cat)
st.title("Circuit Atlas")
models = cat.models()
cols = st.columns(3)
cols[0].metric("models", len(models))
cols[1].metric("layers", sum(len(cat.layers(m.name)) for m in models))
cols[2].metric("circuits", len(cat.circuits()))

query = st.text_input("Search labels, notes, circuits and families")
if query:
    st.session_state["search_query"] = query
    st.switch_page("pages/search.py")

st.subheader("Recent activity")
for entry in cat.audit_log(limit=15):
    st.write(f"`{entry.created_at:%Y-%m-%d %H:%M}` **{entry.user}** {entry.action} "
             f"`{entry.entity_id}`")
