"""Home: what the catalogue holds, what changed lately, and a way into search."""

import streamlit as st
from components.links import SEARCH_PAGE
from components.text import plain
from identity import carried
from session import page

cat, user = page()
st.title("Circuit Atlas")
figures = cat.stats()
for column, name in zip(st.columns(6), ("models", "units", "labelled", "accepted", "circuits", "evidence")):
    column.metric(name, figures[name])

with st.form("home-search", clear_on_submit=True, border=False):
    query = st.text_input("Search labels, notes, circuits and families", key="home-query")
    if st.form_submit_button("Search") and query:
        st.switch_page(SEARCH_PAGE, query_params={"q": query, **carried()})

st.subheader("Recent activity")
for entry in cat.audit_log(limit=20):
    st.markdown(f"`{entry.created_at:%Y-%m-%d %H:%M}` **{plain(entry.actor)}** {entry.action} "
                f"`{entry.entity_id}`")
