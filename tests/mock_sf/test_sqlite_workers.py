"""Checkpoints of mock_sf's SQLite database run in a background thread, not inside a request."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from mock_sf import sqlite_workers
from mock_sf.models import db


def rows_in_database_file(database: Path) -> int:
    """Rows of t in the main file alone: what a checkpoint has copied out of the WAL."""
    copy = database.with_name("copy.sqlite3")
    shutil.copyfile(database, copy)  # without its -wal file
    with sqlite3.connect(copy) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM t").fetchone()[0])


def test_request_connections_leave_checkpoints_to_the_thread(app: Flask) -> None:
    with app.app_context():
        pages = db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar()
    assert pages == sqlite_workers.CHECKPOINT_BACKSTOP


def test_the_thread_checkpoints_the_database_an_exchange_wrote(
    app: Flask, api: Any, idp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    done: list[str] = []
    monkeypatch.setattr(sqlite_workers, "checkpoint", done.append)
    with app.app_context():
        database = str(db.engine.url.database)
    assert api.exchange(idp.access_token()).status_code == 200
    deadline = time.monotonic() + 10 * sqlite_workers.CHECKPOINT_INTERVAL
    while database not in done and time.monotonic() < deadline:
        time.sleep(0.05)
    assert database in done


def test_a_checkpoint_copies_the_wal_into_the_database(tmp_path: Path) -> None:
    database = tmp_path / "wal.sqlite3"
    writer = sqlite3.connect(database)
    writer.execute("CREATE TABLE t (x)")  # in the main file: before WAL mode
    writer.commit()
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(100)])
    writer.commit()
    try:
        assert rows_in_database_file(database) == 0  # everything is still in the WAL
        sqlite_workers.checkpoint(str(database))
        assert rows_in_database_file(database) == 100
    finally:
        writer.close()


def test_a_removed_database_is_left_alone(tmp_path: Path) -> None:
    sqlite_workers.checkpoint(str(tmp_path / "gone.sqlite3"))  # no error, and no file created
    assert not (tmp_path / "gone.sqlite3").exists()
