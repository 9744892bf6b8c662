"""Alembic environment: migrations run on the connection compresslens hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from compresslens.store.schema import Base

config = context.config
connection = config.attributes.get("connection")


def run_on(conn) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run_on(connection)
else:  # `alembic -x` style use from a shell, with sqlalchemy.url set
    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as conn:
        run_on(conn)
