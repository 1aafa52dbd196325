"""The snapshots the fuzz tests compare: a changed row is seen, an excluded table is not."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import text

from tests.fuzz.harness import Tables
from tests.fuzz.harness import differences


def test_a_new_changed_or_deleted_row_is_a_difference_and_an_excluded_table_is_not(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)"))
        connection.execute(text("CREATE TABLE counter (calls INTEGER)"))
        connection.execute(text("INSERT INTO note VALUES (1, 'a'), (2, 'b')"))
    tables = Tables(engine, excluded=("counter", "no_such_table"))
    before = tables.snapshot()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO counter VALUES (1)"))
    assert differences(before, tables.snapshot()) == {}
    with engine.begin() as connection:
        connection.execute(text("UPDATE note SET body = 'c' WHERE id = 1"))
        connection.execute(text("DELETE FROM note WHERE id = 2"))
        connection.execute(text("INSERT INTO note VALUES (3, 'd')"))
    assert differences(before, tables.snapshot()) == {
        "note": {"gone": [(1, "a"), (2, "b")], "new": [(1, "c"), (3, "d")]}
    }
    engine.dispose()
