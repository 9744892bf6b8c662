"""Initial workspace schema: datasets, models, operations, evaluations, metrics, tags, notes.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "artifacts",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_artifacts"),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("num_instances", sa.Integer(), nullable=False),
        sa.Column("num_classes", sa.Integer(), nullable=False),
        sa.Column("class_names", sa.JSON(), nullable=False),
        sa.Column("input_shape", sa.JSON(), nullable=False),
        sa.Column("input_dtype", sa.String(32), nullable=False),
        sa.Column("attribute_names", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("arrays_artifact", sa.String(64), nullable=False),
        sa.Column("table_artifact", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["arrays_artifact"],
            ["artifacts.sha256"],
            name="fk_datasets_arrays_artifact_artifacts",
        ),
        sa.ForeignKeyConstraint(
            ["table_artifact"],
            ["artifacts.sha256"],
            name="fk_datasets_table_artifact_artifacts",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
        sa.UniqueConstraint("name", name="uq_datasets_name"),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("factory", sa.String(400), nullable=True),
        sa.Column("factory_kwargs", sa.JSON(), nullable=False),
        sa.Column("weights_artifact", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("efficiency", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["weights_artifact"],
            ["artifacts.sha256"],
            name="fk_models_weights_artifact_artifacts",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.UniqueConstraint("name", name="uq_models_name"),
    )
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("child_id", sa.String(32), nullable=False),
        sa.Column("op_name", sa.String(100), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("library_versions", sa.JSON(), nullable=False),
        sa.Column("wall_time_s", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_text", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["models.id"], name="fk_operations_child_id_models", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_operations"),
        sa.UniqueConstraint("child_id", name="uq_operations_child_id"),
    )
    op.create_table(
        "operation_parents",
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name="fk_operation_parents_operation_id_operations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["models.id"], name="fk_operation_parents_parent_id_models"
        ),
        sa.PrimaryKeyConstraint("operation_id", "position", name="pk_operation_parents"),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("dataset_id", sa.String(32), nullable=False),
        sa.Column("outputs_artifact", sa.String(64), nullable=True),
        sa.Column("logits_artifact", sa.String(64), nullable=True),
        sa.Column("features_artifact", sa.String(64), nullable=True),
        sa.Column("features_module", sa.String(200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("wall_time_s", sa.Float(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name="fk_evaluations_dataset_id_datasets"
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name="fk_evaluations_model_id_models", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["outputs_artifact"],
            ["artifacts.sha256"],
            name="fk_evaluations_outputs_artifact_artifacts",
        ),
        sa.ForeignKeyConstraint(
            ["logits_artifact"],
            ["artifacts.sha256"],
            name="fk_evaluations_logits_artifact_artifacts",
        ),
        sa.ForeignKeyConstraint(
            ["features_artifact"],
            ["artifacts.sha256"],
            name="fk_evaluations_features_artifact_artifacts",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_evaluations"),
        sa.UniqueConstraint("model_id", "dataset_id", name="uq_evaluations_model_id"),
    )
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("dataset_id", sa.String(32), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name="fk_metrics_dataset_id_datasets"
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name="fk_metrics_model_id_models", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
        sa.UniqueConstraint("model_id", "dataset_id", "name", name="uq_metrics_model_id"),
    )
    op.create_table(
        "tags",
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name="fk_tags_model_id_models", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("model_id", "tag", name="pk_tags"),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name="fk_notes_model_id_models", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notes"),
    )


def downgrade() -> None:
    for table in (
        "notes",
        "tags",
        "metrics",
        "evaluations",
        "operation_parents",
        "operations",
        "models",
        "datasets",
        "artifacts",
    ):
        op.drop_table(table)
