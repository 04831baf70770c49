"""families per layer; signed circuit edges

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

- A family is one layer of one model (the catalogue refuses a member from another layer
  from now on). A family that spans layers is split, one family per layer, named
  ``NAME (layer)`` (``NAME (model/layer)`` when it also spans models): the shallowest
  layer's part keeps the family's row (its id, version history and creation time), the
  others get new rows with the same description. Each split is written to the audit log
  (user ``migration 0008``) and to the search index. Downgrading does not merge them back:
  which parts were one family is in the audit log.
- ``circuit_edges.sign``: what a curated edge is said to do, ``excitatory`` or
  ``inhibitory`` (None where nobody stated it).
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR = "migration 0008"
MAX_NAME = 200  # families.name

families = sa.table("families", sa.column("id", sa.BigInteger), sa.column("name", sa.String),
                    sa.column("description", sa.Text), sa.column("version", sa.Integer),
                    sa.column("created_at", sa.DateTime(timezone=True)))
members = sa.table("family_members", sa.column("id", sa.BigInteger), sa.column("family_id", sa.BigInteger),
                   sa.column("feature_id", sa.BigInteger))
features = sa.table("features", sa.column("id", sa.BigInteger), sa.column("layer_id", sa.BigInteger))
layers = sa.table("layers", sa.column("id", sa.BigInteger), sa.column("model_id", sa.BigInteger),
                  sa.column("name", sa.String), sa.column("order", sa.Integer))
models = sa.table("models", sa.column("id", sa.BigInteger), sa.column("name", sa.String))
search_docs = sa.table("search_docs", sa.column("kind", sa.String), sa.column("ref_id", sa.BigInteger),
                       sa.column("target", sa.String), sa.column("title", sa.Text), sa.column("body", sa.Text),
                       sa.column("feature_id", sa.BigInteger), sa.column("status", sa.String),
                       sa.column("author", sa.String))
audit_log = sa.table("audit_log", sa.column("user_name", sa.String), sa.column("action", sa.String),
                     sa.column("entity_type", sa.String), sa.column("entity_id", sa.String),
                     sa.column("before", sa.JSON), sa.column("after", sa.JSON), sa.column("created_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    with op.batch_alter_table("circuit_edges") as batch:
        batch.add_column(sa.Column("sign", sa.String(length=12), nullable=True))
        batch.create_check_constraint(op.f("ck_circuit_edges_sign"), "sign IN ('excitatory', 'inhibitory')")
    split_families(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("circuit_edges") as batch:
        batch.drop_constraint(op.f("ck_circuit_edges_sign"), type_="check")
        batch.drop_column("sign")


def split_families(conn: sa.Connection) -> None:
    rows = conn.execute(
        sa.select(members.c.family_id, members.c.id, models.c.name, layers.c.name, layers.c.order)
        .join(features, features.c.id == members.c.feature_id)
        .join(layers, layers.c.id == features.c.layer_id)
        .join(models, models.c.id == layers.c.model_id)
        .order_by(members.c.family_id, layers.c.order, models.c.name, members.c.id)
    ).all()
    by_family: dict[int, dict[tuple[str, str], list[int]]] = {}
    for family_id, member_id, model, layer, _order in rows:
        by_family.setdefault(family_id, {}).setdefault((model, layer), []).append(member_id)
    taken = set(conn.scalars(sa.select(families.c.name)))
    for family_id, groups in by_family.items():
        if len(groups) > 1:
            _split(conn, family_id, groups, taken)


def _split(conn: sa.Connection, family_id: int, groups: dict[tuple[str, str], list[int]], taken: set[str]) -> None:
    family = conn.execute(sa.select(families).where(families.c.id == family_id)).one()
    one_model = len({model for model, _layer in groups}) == 1
    parts = []
    for index, ((model, layer), member_ids) in enumerate(groups.items()):
        name = _free_name(family.name, layer if one_model else f"{model}/{layer}", taken)
        if index == 0:  # the shallowest layer keeps the family's row
            conn.execute(sa.update(families).where(families.c.id == family_id)
                         .values(name=name, version=family.version + 1))
            conn.execute(sa.update(search_docs).where(search_docs.c.kind == "family",
                                                      search_docs.c.ref_id == family_id)
                         .values(target=f"family:{name}", title=name))
            part_id = family_id
        else:
            part_id = conn.execute(sa.insert(families).values(
                name=name, description=family.description, version=1, created_at=family.created_at,
            ).returning(families.c.id)).scalar_one()
            conn.execute(sa.update(members).where(members.c.id.in_(member_ids)).values(family_id=part_id))
            conn.execute(sa.insert(search_docs).values(
                kind="family", ref_id=part_id, target=f"family:{name}", title=name, body=family.description,
                feature_id=None, status=None, author=None,
            ))
        parts.append({"name": name, "layer": f"{model}/{layer}", "members": len(member_ids)})
    conn.execute(sa.insert(audit_log).values(
        user_name=ACTOR, action="family.split", entity_type="family", entity_id=family.name,
        before={"name": family.name, "layers": [p["layer"] for p in parts]},
        after={"families": parts, "why": "a family is one layer of one model"},
        created_at=datetime.now(UTC),
    ))


def _free_name(name: str, where: str, taken: set[str]) -> str:
    """``NAME (where)``, within the column's length, not yet taken (a number added if so)."""
    for number in range(1, 1000):
        suffix = f" ({where})" if number == 1 else f" ({where}) {number}"
        candidate = name[:MAX_NAME - len(suffix)].rstrip() + suffix
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise RuntimeError(f"no free name for family {name!r} in {where}")
