"""A page's state in its URL: widgets whose value is read from a query parameter when the
page opens and written back on every run, so a copied link (or a reload) opens the same
view. A value in the URL that the widget does not offer (an old link, a hostile edit) is
ignored: the widget starts at its default."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st


def _seed(key: str, param: str, parse: Callable[[str], Any]) -> None:
    """Give the widget ``key`` the URL's value once, before it is first drawn."""
    if key in st.session_state or param not in st.query_params:
        return
    try:
        st.session_state[key] = parse(st.query_params[param])
    except (ValueError, TypeError):
        pass


def _write(param: str, text: str | None) -> None:
    if text:
        st.query_params[param] = text
    else:
        st.query_params.pop(param, None)


def url_selectbox(label: str, options: Sequence[Any], *, key: str, param: str, index: int = 0,
                  omit: object = None, container: Any = st, format_func: Callable[[Any], Any] = str) -> Any:
    """A selectbox kept in ``?param=``; options are matched by their text (``str``, whatever
    ``format_func`` shows). A value equal to ``omit`` (a filter's "any") is left out of the
    URL, which then names only what was chosen."""
    by_text = {str(option): option for option in options}
    _seed(key, param, lambda text: by_text[text] if text in by_text else _unknown())
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]
    # A widget given both a default and a session value warns on the page: the default
    # stands only until the URL or the user has set a value.
    value = container.selectbox(label, options, index=0 if key in st.session_state else index, key=key,
                                format_func=format_func)
    _write(param, None if value is None or value == omit else str(value))
    return value


def url_multiselect(label: str, options: Sequence[str], *, key: str, param: str, default: Sequence[str],
                    container: Any = st) -> list[str]:
    """A multiselect kept in ``?param=a,b``."""
    _seed(key, param, lambda text: [v for v in text.split(",") if v in options] or _unknown())
    value = container.multiselect(label, options, default=None if key in st.session_state else list(default),
                                  key=key)
    _write(param, ",".join(value))
    return value


def url_page_number(label: str, pages: int, *, key: str, param: str = "page", container: Any = st) -> int:
    """A 1-based page number kept in ``?page=``, clamped to the pages there are now."""
    _seed(key, param, int)
    if key in st.session_state and not 1 <= st.session_state[key] <= pages:
        st.session_state[key] = min(max(1, int(st.session_state[key])), pages)
    number = int(container.number_input(f"{label} (of {pages})", 1, pages, key=key))
    _write(param, str(number) if number > 1 else None)
    return number


def _unknown() -> Any:
    raise ValueError("not an option")
