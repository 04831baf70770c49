"""Messages that survive a rerun: a write reruns the page so that everything on it shows
the new state, and its confirmation or error is shown at the top of that rerun. Widget
callbacks (which run before the rerun) use ``remember`` directly."""

import streamlit as st

KEY = "flash"


def remember(message: str, error: bool = False) -> None:
    st.session_state[KEY] = (message, error)


def flash(message: str) -> None:
    remember(message)
    st.rerun()


def show_flash() -> None:
    message, error = st.session_state.pop(KEY, (None, False))
    if message:
        (st.error if error else st.success)(message)
