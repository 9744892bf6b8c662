"""Provenance of the intra-op thread count, models' input specs, one input_shape convention.

* `operations.threads`: the torch intra-op thread count a node's computation ran with (the
  float reduction order, hence the weights, depends on it);
* `models.input_spec`: the JSON description of one input instance, from which operations
  build an example to trace the model and to check the child's output shape;
* `input_shape` parameters of prune.structured and quantize.static_int8 were written with
  the batch dimension first ([1, 1, 28, 28]); compresslens now takes the shape of one
  instance everywhere ([1, 28, 28]), so stored parameters drop their leading batch size.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH_FIRST_OPS = ("prune.structured", "quantize.static_int8")

operations = sa.table(
    "operations",
    sa.column("id", sa.Integer()),
    sa.column("op_name", sa.String()),
    sa.column("params", sa.JSON()),
)


def _drop_leading(params: dict, sizes: int) -> dict:
    shape = params.get("input_shape")
    if isinstance(shape, list) and len(shape) > sizes:
        return {**params, "input_shape": shape[sizes:]}
    return params


def _rewrite_input_shapes(drop: int, add: int) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(operations.c.id, operations.c.params).where(
            operations.c.op_name.in_(BATCH_FIRST_OPS)
        )
    ).all()
    for row_id, params in rows:
        params = dict(params or {})
        changed = _drop_leading(params, drop) if drop else params
        if add and isinstance(params.get("input_shape"), list):
            changed = {**params, "input_shape": [1] * add + params["input_shape"]}
        if changed != params:
            bind.execute(
                operations.update().where(operations.c.id == row_id).values(params=changed)
            )


def upgrade() -> None:
    op.add_column("operations", sa.Column("threads", sa.Integer(), nullable=True))
    op.add_column("models", sa.Column("input_spec", sa.JSON(), nullable=True))
    _rewrite_input_shapes(drop=1, add=0)


def downgrade() -> None:
    _rewrite_input_shapes(drop=0, add=1)
    with op.batch_alter_table("models") as batch:
        batch.drop_column("input_spec")
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("threads")
