"""64-bit artifact sizes and operation seeds on PostgreSQL (SQLite's INTEGER is 64-bit already).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = (("artifacts", "size_bytes", False), ("operations", "seed", True))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # nothing to change, and no table to rebuild
    for table, column, nullable in COLUMNS:
        op.alter_column(
            table, column, type_=sa.BigInteger(), existing_type=sa.Integer(),
            existing_nullable=nullable,
        )  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, nullable in COLUMNS:
        op.alter_column(
            table, column, type_=sa.Integer(), existing_type=sa.BigInteger(),
            existing_nullable=nullable,
        )  # fmt: skip
