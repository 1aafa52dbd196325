"""What every fuzz test shares: its Hypothesis settings (a fixed number of examples, derandomized)
and database snapshots (every row of every table) that prove a refused request stored nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck
from hypothesis import settings
from sqlalchemy import Engine
from sqlalchemy import MetaData
from sqlalchemy import select

Snapshot = dict[str, frozenset[tuple[Any, ...]]]


def fuzz_settings(max_examples: int) -> settings:
    """The same examples on every run (derandomized, no example database), bounded by count:
    no per-example deadline, since a deadline is a timing assertion on a shared machine."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


class Tables:
    """The tables of a database but the `excluded` ones (where they exist), reflected once."""

    def __init__(self, engine: Engine, excluded: Iterable[str] = ()) -> None:
        metadata = MetaData()
        metadata.reflect(engine)
        skipped = set(excluded)
        self.engine = engine
        self.tables = [table for name, table in metadata.tables.items() if name not in skipped]
        assert self.tables

    def snapshot(self) -> Snapshot:
        """{table: its rows} by plain SELECTs on a connection of their own (no ORM cache)."""
        with self.engine.connect() as connection:
            return {
                table.name: frozenset(
                    tuple(map(hashable, row)) for row in connection.execute(select(table))
                )
                for table in self.tables
            }


def hashable(value: Any) -> Any:
    """A JSON column's list or dict as its canonical text, so rows can go in a set."""
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def differences(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[Any]]]:
    """{table: {"gone": rows, "new": rows}} for each table whose rows changed."""
    return {
        name: {
            "gone": sorted(before[name] - after[name], key=repr),
            "new": sorted(after[name] - before[name], key=repr),
        }
        for name in before
        if before[name] != after[name]
    }
