import streamlit as st

from atlas import AtlasError
from session import catalog, current_user

cat = catalog()
current_user(cat)
st.title("Search")
query = st.text_input("Query", value=st.session_state.get("search_query", ""))
if query:
    try:
        hits = cat.search(query)
    except AtlasError as exc:
        st.error(str(exc))
        st.stop()
    if not hits:
        st.info("No matches.")
    for hit in hits:
        cols = st.columns([1, 2, 5])
        cols[0].write(hit.kind)
        if hit.kind in ("label", "evidence") and cols[1].button(hit.target, key=f"open-{hit.kind}-{hit.target}"):
            st.session_state["unit_address"] = hit.target
            st.switch_page("pages/unit.py")
        elif hit.kind not in ("label", "evidence"):
            cols[1].write(hit.target)
        cols[2].write(hit.text)
