"""Users (admins only; the navigation offers it to no one else): who may use this
catalogue and with which role. Adding a user and changing a role go through the
catalogue, which checks again that the acting user is an admin and audits each change."""


import streamlit as st
from components.flash import attempt
from components.text import plain
from session import page

from atlas.vocabulary import ROLES

cat, _ = page()
st.title("Users")


users = cat.users()
st.dataframe([{"name": u.name, "role": u.role} for u in users], hide_index=True)
st.caption("Every change is in the audit log (Home, Recent activity).")

with st.form("user-add", clear_on_submit=True):
    st.markdown("**Add a user**")
    name = st.text_input("Name (as your login or proxy names them)", key="user-add-name")
    role = st.selectbox("Role", ROLES, key="user-add-role")
    if st.form_submit_button("Add"):
        attempt(lambda: cat.add_user(name.strip(), role), f"added {plain(name.strip())} ({role})")

with st.form("user-role"):
    st.markdown("**Change a role**")
    who = st.selectbox("User", [u.name for u in users], key="user-role-name")
    new_role = st.selectbox("New role", ROLES, key="user-role-role")
    if st.form_submit_button("Change"):
        attempt(lambda: cat.set_role(who, new_role), f"{plain(who)} is now a {new_role}")

