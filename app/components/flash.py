"""Messages that survive a rerun: a write reruns the page so that everything on it shows
the new state, and its confirmation or error is shown at the top of that rerun. Widget
callbacks (which run before the rerun) use ``remember`` directly."""

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from atlas import AtlasError

KEY = "flash"
Result = TypeVar("Result")


def remember(message: str, error: bool = False) -> None:
    st.session_state[KEY] = (message, error)


def flash(message: str) -> None:
    remember(message)
    st.rerun()


def show_flash() -> None:
    message, error = st.session_state.pop(KEY, (None, False))
    if message:
        (st.error if error else st.success)(message)


def attempt(write: Callable[[], Result], done: str | Callable[[Result], str]) -> None:
    """Run one catalogue write: its refusal is one error line now, its confirmation
    (``done``, or ``done`` of what the write returned) is flashed after the rerun."""
    try:
        result = write()
    except AtlasError as exc:
        st.error(str(exc))
    else:
        flash(done if isinstance(done, str) else done(result))
