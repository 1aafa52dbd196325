"""SQLite under several workers: checkpoints off the request path.

In WAL mode with ``synchronous=NORMAL`` a commit does not wait for the disk; a checkpoint (copying
the WAL into the database, every 1,000 pages by default) does, twice, and it ran inside whichever
request's commit crossed the threshold: under `make bench` the exchange's p99 was 130-350 ms on
this machine's disk, against 28 ms without. Request connections now checkpoint only past
CHECKPOINT_BACKSTOP pages; a daemon thread per process runs a PASSIVE checkpoint of each database
written to in the last CHECKPOINT_INTERVAL seconds, beside the writers (it never blocks them).
PostgreSQL does not need any of this.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import event

WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
CHECKPOINT_INTERVAL = 0.5  # seconds
CHECKPOINT_BACKSTOP = 20_000  # pages (80 MB): a request checkpoints only if the thread cannot


class Checkpointer:
    """One daemon thread per process: PASSIVE checkpoints of the databases written to lately."""

    def __init__(self) -> None:
        self._written: set[str] = set()
        self._lock = threading.Lock()
        self._pid: int | None = None  # a thread does not survive a fork: one per process

    def written(self, database: str) -> None:
        """Note a write; start the thread in this process if it has none."""
        with self._lock:
            self._written.add(database)
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(CHECKPOINT_INTERVAL)
            with self._lock:
                databases, self._written = self._written, set()
            for database in databases:
                checkpoint(database)


CHECKPOINTER = Checkpointer()


def checkpoint(database: str) -> None:
    """A PASSIVE checkpoint; a database since removed (a test's) or busy is left alone."""
    with contextlib.suppress(sqlite3.Error):
        connection = sqlite3.connect(f"file:{database}?mode=rw", uri=True, timeout=0)
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()


def pragmas(dbapi_connection: Any) -> None:
    """Per connection (on connect): checkpoint only past the backstop; the thread does it."""
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_BACKSTOP}")


def install(engine: Engine) -> None:
    """Tell the process's checkpointer about every write to ``engine``'s database file."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return

    def before_write(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if WRITE.match(statement):
            CHECKPOINTER.written(database)

    event.listen(engine, "before_cursor_execute", before_write)
