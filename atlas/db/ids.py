"""Membership in a list of ids, the cheap way on each dialect.

``column IN (:p1, …, :pN)`` costs a bound parameter per id to render, send and parse;
with thousands of ids (a 2-hop neighbourhood) that dominates the query. PostgreSQL takes
the whole list as one array parameter (``column = ANY(:ids)``); SQLite keeps IN.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import BigInteger, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def id_in(session: Session, column, ids: Collection[int]):  # noqa: ANN001, ANN201
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))
    return column.in_(list(ids))
