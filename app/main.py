"""The curation app: `atlas app` (or `make app`) runs `streamlit run app/main.py`.

Pages call only atlas.catalog; the catalogue comes from ATLAS_DATABASE_URL and
ATLAS_BLOB_URL (the embedded SQLite catalogue by default).
"""

import streamlit as st

st.set_page_config(page_title="Circuit Atlas", layout="wide")
pages = [
    st.Page("pages/home.py", title="Home", default=True),
    st.Page("pages/unit.py", title="Unit", url_path="unit"),
    st.Page("pages/search.py", title="Search", url_path="search"),
]
st.navigation(pages).run()
