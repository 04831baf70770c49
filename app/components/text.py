"""User text shown inside Markdown-rendering widgets (captions, titles, table cells).

Labels and names are plain text: escaping keeps a label such as ``*curve*`` or
``[x](http://…)`` from turning into formatting or links. Evidence notes, which are
Markdown on purpose, are rendered by ``st.markdown`` without ``unsafe_allow_html``, so raw
HTML in them is shown as text and never run.
"""

import re

MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def plain(text: str) -> str:
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)
