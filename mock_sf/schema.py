"""Bring an older database up to the models: ``create_all`` adds tables but never columns.

A column added after its table first shipped is nullable or has a server default, so an
``ALTER TABLE … ADD COLUMN`` is enough on SQLite and PostgreSQL alike; an index over such a
column (e.g. Case.Portal_Request_Id__c's unique one) is created with it.
"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy import text
from sqlalchemy.schema import CreateColumn
from sqlalchemy.schema import CreateIndex

from mock_sf.models import Base
from mock_sf.models import db


def add_missing_columns() -> list[str]:
    """Add the model columns an existing table lacks; return them as ``table.column``."""
    engine = db.engine
    inspector = inspect(engine)
    preparer = engine.dialect.identifier_preparer
    added: list[str] = []
    for table in Base.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable and column.server_default is None:
                raise RuntimeError(f"cannot add NOT NULL column {table.name}.{column.name}")
            ddl = CreateColumn(column).compile(dialect=engine.dialect)
            db.session.execute(text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {ddl}"))
            added.append(f"{table.name}.{column.name}")
        for index in table.indexes:
            if any(f"{table.name}.{column.name}" in added for column in index.columns):
                db.session.execute(CreateIndex(index))
    db.session.commit()
    return added
