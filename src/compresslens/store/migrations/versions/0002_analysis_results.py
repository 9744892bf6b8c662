"""Cached analysis results: a key over an analysis's inputs → a JSON artifact.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_results",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("artifact", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact"], ["artifacts.sha256"], name="fk_analysis_results_artifact_artifacts"
        ),
        sa.PrimaryKeyConstraint("key", name="pk_analysis_results"),
    )


def downgrade() -> None:
    op.drop_table("analysis_results")
