"""Alembic environment: migrations run on the connection the caller passes (init-db, `db`)."""

from __future__ import annotations

from alembic import context

from mock_idp.models import Base

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it: autogenerate writes batch operations that work on both.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
