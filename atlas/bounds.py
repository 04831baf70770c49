"""Bounds on the plain values a caller hands the catalogue: counts, ids, filter text.

A number reaches SQL as a bound parameter, and an out-of-range one fails there, far from
its cause: PostgreSQL refuses the statement (``DataError: integer out of range``, ``LIMIT
must not be negative``) and SQLite's driver overflows (``OverflowError: Python int too
large to convert to SQLite INTEGER``). PostgreSQL text cannot hold a NUL byte at all.
Checking here, before a session opens, makes each of these one line that names the
argument, the same on both databases. (Filter text goes through ``atlas.text``.)
"""

from __future__ import annotations

import operator

from atlas.errors import InvalidInput

MAX_INT32 = 2**31 - 1  # INTEGER columns: unit channels, versions
MAX_INT64 = 2**63 - 1  # BIGINT ids (jobs, edges)
MAX_ROWS = 100_000  # the most rows one listing returns (audit entries, jobs, edges per unit)


def check_int(value: object, what: str, low: int, high: int) -> int:
    """``value`` as an int from ``low`` to ``high``; bools and floats are refused (``1e20``
    is a float, and a float LIMIT means nothing)."""
    try:
        number = operator.index(value) if not isinstance(value, bool) else None  # type: ignore[arg-type]
    except TypeError:
        number = None
    if number is None or not low <= number <= high:
        raise InvalidInput(f"{what} must be an integer from {low:,} to {high:,}, not {value!r}")
    return number


def check_limit(value: object, what: str, maximum: int = MAX_ROWS) -> int:
    """A count of rows to return: at least 1, at most ``maximum``."""
    return check_int(value, what, 1, maximum)


def check_id(value: object, what: str) -> int:
    """A row id: positive and small enough for a BIGINT column."""
    return check_int(value, what, 1, MAX_INT64)

