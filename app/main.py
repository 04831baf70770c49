"""The curation app: `atlas app` (or `make app`) runs `streamlit run app/main.py`.

Pages call only atlas.catalog; the catalogue comes from ATLAS_DATABASE_URL and
ATLAS_BLOB_URL (the embedded SQLite catalogue by default), the user from ATLAS_AUTH
(see identity.py and docs/app.md).
"""

import streamlit as st
from identity import can_admin
from session import establish

st.set_page_config(page_title="Circuit Atlas", layout="wide")
user = establish()
# The pages live in views/, not pages/: Streamlit treats a pages/ folder as the old
# file-based navigation and serves its scripts directly, bypassing this one.
pages = [
    st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("views/layer.py", title="Layer browser", icon=":material/grid_view:", url_path="layer"),
    st.Page("views/unit.py", title="Unit", icon=":material/visibility:", url_path="unit"),
    st.Page("views/circuit.py", title="Circuits", icon=":material/hub:", url_path="circuit"),
    st.Page("views/graph.py", title="Graph", icon=":material/share:", url_path="graph"),
    st.Page("views/pair.py", title="Compare two units", icon=":material/compare:", url_path="pair"),
    st.Page("views/family.py", title="Families", icon=":material/diversity_3:", url_path="family"),
    st.Page("views/compare.py", title="Compare models", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("views/search.py", title="Search", icon=":material/search:", url_path="search"),
    st.Page("views/review.py", title="Review queue", icon=":material/rule:", url_path="review"),
    st.Page("views/jobs.py", title="Jobs", icon=":material/memory:", url_path="jobs"),
]
if can_admin(user):
    pages.append(st.Page("views/users.py", title="Users", icon=":material/group:", url_path="users"))
st.navigation(pages).run()
