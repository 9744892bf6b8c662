"""SQL tables of a workspace: what was made from what, and what it measured.

The store knows nothing of operations or analyses: it keeps names, JSON parameters and
artifact hashes; the layers above give them meaning.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# 64-bit integers on every back end: SQLite's INTEGER already is (and must stay INTEGER there),
# PostgreSQL's is 32-bit (a 3 GB weights file, a seed of 2**32 would not fit).
BigInt = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A UTC timestamp read back timezone-aware on every back end: PostgreSQL returns one,
    SQLite stores no offset and would return a naive datetime (isoformat without +00:00)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Artifact(Base):
    """A content-addressed file under the artifacts folder (sha256 of its bytes)."""

    __tablename__ = "artifacts"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(BigInt)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dataset(Base):
    __tablename__ = "datasets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    modality: Mapped[str] = mapped_column(String(16))
    num_instances: Mapped[int] = mapped_column(Integer)
    num_classes: Mapped[int] = mapped_column(Integer)
    class_names: Mapped[list[str]] = mapped_column(JSON)
    input_shape: Mapped[list[int]] = mapped_column(JSON)
    input_dtype: Mapped[str] = mapped_column(String(32))
    attribute_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    arrays_artifact: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))
    table_artifact: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Model(Base):
    """A node of the provenance graph: a root built by a factory, or a derived model."""

    __tablename__ = "models"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # added | derived | logged
    factory: Mapped[str | None] = mapped_column(String(400), nullable=True)
    factory_kwargs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    weights_artifact: Mapped[str | None] = mapped_column(
        ForeignKey("artifacts.sha256"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), default="ready")
    efficiency: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # one input instance (data/inputs.py): what operations trace and check the model with
    input_spec: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    produced_by: Mapped[Operation | None] = relationship(
        back_populates="child",
        uselist=False,
        foreign_keys="Operation.child_id",
        cascade="all, delete-orphan",
    )
    tags: Mapped[list[Tag]] = relationship(cascade="all, delete-orphan", order_by="Tag.tag")
    notes: Mapped[list[Note]] = relationship(cascade="all, delete-orphan", order_by="Note.id")


class Operation(Base):
    """An edge: the operation that made `child` from one or more parents."""

    __tablename__ = "operations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), unique=True)
    op_name: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seed: Mapped[int | None] = mapped_column(BigInt, nullable=True)
    library_versions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    wall_time_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="done")
    error_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # torch intra-op threads the computation ran with: the float reduction order depends on it
    threads: Mapped[int | None] = mapped_column(Integer, nullable=True)

    child: Mapped[Model] = relationship(back_populates="produced_by", foreign_keys=[child_id])
    parents: Mapped[list[OperationParent]] = relationship(
        cascade="all, delete-orphan", order_by="OperationParent.position"
    )


class OperationParent(Base):
    """A parent of an edge; `role` tells an input from, say, a distillation teacher."""

    __tablename__ = "operation_parents"
    operation_id: Mapped[int] = mapped_column(
        ForeignKey("operations.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[str] = mapped_column(ForeignKey("models.id"))
    role: Mapped[str] = mapped_column(String(32), default="input")


class Evaluation(Base):
    """One model run over one dataset: per-instance outputs live in artifacts."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("model_id", "dataset_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    outputs_artifact: Mapped[str | None] = mapped_column(
        ForeignKey("artifacts.sha256"), nullable=True
    )
    logits_artifact: Mapped[str | None] = mapped_column(
        ForeignKey("artifacts.sha256"), nullable=True
    )
    features_artifact: Mapped[str | None] = mapped_column(
        ForeignKey("artifacts.sha256"), nullable=True
    )
    features_module: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    wall_time_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Metric(Base):
    """A scalar figure of a model, on a dataset or (dataset_id NULL) of the model itself."""

    __tablename__ = "metrics"
    __table_args__ = (UniqueConstraint("model_id", "dataset_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)


class Tag(Base):
    __tablename__ = "tags"
    model_id: Mapped[str] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnalysisResult(Base):
    """A computed analysis (JSON artifact) under a key of its inputs, so it is computed once."""

    __tablename__ = "analysis_results"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    artifact: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
