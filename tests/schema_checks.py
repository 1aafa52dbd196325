"""What the migration tests compare: a database's schema, and its diff against the models."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy import Index
from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy import UniqueConstraint
from sqlalchemy import create_engine
from sqlalchemy import inspect
from sqlalchemy import text


def schema(url: str) -> dict[str, Any]:
    """Tables with their columns, indexes and (where ALTER can add them) foreign keys."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        tables: dict[str, Any] = {}
        for name in sorted(inspector.get_table_names()):
            tables[name] = {
                "columns": {c["name"]: c["nullable"] for c in inspector.get_columns(name)},
                "indexes": {i["name"]: bool(i["unique"]) for i in inspector.get_indexes(name)},
            }
            # SQLite cannot add a constraint to an existing table: upgrades add columns bare.
            if engine.dialect.name != "sqlite":
                tables[name]["foreign_keys"] = sorted(
                    (tuple(k["constrained_columns"]), k["referred_table"])
                    for k in inspector.get_foreign_keys(name)
                )
        return tables
    finally:
        engine.dispose()


def before_alembic(config: Config, connection: Any) -> None:
    """Make a database at head one from before Alembic: down to the baseline, no version table."""
    config.attributes["connection"] = connection
    command.downgrade(config, "0001")
    connection.exec_driver_sql("DROP TABLE alembic_version")


def baseline(config: Config) -> MetaData:
    """The tables of revision 0001: every database from before Alembic is at most this."""
    script = ScriptDirectory.from_config(config).get_revision("0001")
    return script.module.metadata


def head(config: Config) -> str:
    """The one head of an app's revisions (two would mean unmerged branches)."""
    [only] = ScriptDirectory.from_config(config).get_heads()
    return str(only)


def version(url: str) -> str:
    """The revision in alembic_version."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(
                connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            )
    finally:
        engine.dispose()


def pending_changes(url: str, metadata: MetaData) -> list[Any]:
    """What `alembic revision --autogenerate` would write: empty when models and revisions agree."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def older(metadata: MetaData, later: dict[str, set[str]], later_tables: set[str]) -> MetaData:
    """The models' tables without the ``later`` columns and tables: a database from before."""
    shape = MetaData()
    for table in metadata.sorted_tables:
        if table.name in later_tables:
            continue
        gone = later.get(table.name, set())
        copy = Table(table.name, shape, *(c._copy() for c in table.columns if c.name not in gone))
        for constraint in table.constraints:
            names = [column.name for column in constraint.columns]
            if gone.intersection(names):
                continue
            if isinstance(constraint, UniqueConstraint):
                copy.append_constraint(UniqueConstraint(*names, name=constraint.name))
            elif isinstance(constraint, ForeignKeyConstraint):
                if constraint.referred_table.name not in later_tables:
                    targets = [element.target_fullname for element in constraint.elements]
                    copy.append_constraint(
                        ForeignKeyConstraint(names, targets, use_alter=constraint.use_alter)
                    )
        for index in table.indexes:
            names = [column.name for column in index.columns]
            # Columns copied with index=True bring their own; composite ones are added here.
            if not gone.intersection(names) and index.name not in {i.name for i in copy.indexes}:
                Index(index.name, *(copy.c[name] for name in names), unique=index.unique)
    return shape
