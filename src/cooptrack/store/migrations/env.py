"""Alembic environment: uses the connection handed in by cooptrack, or the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cooptrack.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from cooptrack.store.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":  # see cooptrack.store.migrate.run: batch copies must not cascade
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        with conn.begin():
            _run(conn)
