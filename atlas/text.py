"""Free text people type (labels, reasons, notes, descriptions, claims) and how it is printed.

What is written here is later shown in terminals, in the app and in exports, written by
one person and read by another. Control characters (C0, DEL, C1) can drive a terminal (an
ESC sequence rewrites what is on screen, a carriage return hides the start of a line) and
the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) make text display
in another order than it is stored (the "Trojan Source" trick). Both are refused on the
way in: by the API and by the bundle importer, through ``check_text``. Newlines and tabs
are allowed only in multi-line fields. The left-to-right and right-to-left marks (U+200E,
U+200F) are kept: they only nudge neutral characters, and mixed Hebrew or Arabic text
needs them.

Rows stored before these checks existed may still hold such characters, so the CLI
prints every stored text through ``printable``.
"""

from __future__ import annotations

import re

from atlas.errors import InvalidInput

MAX_LINE_CHARS = 2000  # one-line fields: a reason, a prediction, a node's role
MAX_NOTE_CHARS = 20_000  # multi-line fields: notes, descriptions, a claim's result

_BIDI = "\u202a-\u202e\u2066-\u2069"
# Single-line fields: no C0 at all (tab and newline included), no DEL, C1, line or
# paragraph separators, or bidirectional controls.
_SINGLE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
# Multi-line fields: the same, but tab, newline and the Unicode line separators pass.
_MULTI_LINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")


def check_text(
    value: object, field: str, *, multiline: bool = False, max_len: int = MAX_LINE_CHARS,
    strip: bool = False,
) -> str:
    """``value`` if it is text a person could have typed into ``field``; InvalidInput
    naming the field and the first offending character otherwise. With ``strip`` the
    surrounding whitespace is removed first (and the stripped text is returned)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, got {type(value).__name__}")
    if strip:
        value = value.strip()
    if len(value) > max_len:
        raise InvalidInput(f"{field} is {len(value)} characters; the limit is {max_len}")
    bad = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    if bad:
        allowed = "newlines and tabs are the only control characters allowed" if multiline else (
            "it must be one line of printable text")
        raise InvalidInput(
            f"{field} contains the control character U+{ord(bad.group()):04X} at position "
            f"{bad.start()}: {allowed}"
        )
    return value


def check_optional(value: object, field: str, **options: object) -> str | None:
    """``check_text`` for a field that may be left out (None)."""
    return None if value is None else check_text(value, field, **options)  # type: ignore[arg-type]


def printable(value: object) -> str:
    """``value`` as text safe to print on a terminal: every character Python does not
    consider printable (controls, bidirectional overrides, line separators, newlines) is
    shown escaped, as ``repr`` would (``\\x1b``, ``\\u202e``, ``\\n``)."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
