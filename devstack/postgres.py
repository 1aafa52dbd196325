"""A throwaway PostgreSQL cluster for the tests (and by hand): `python -m devstack.postgres`.

It uses the server binaries of Debian's `postgresql` package (`make pg-deps` installs them),
listens on a free loopback port with trust authentication, keeps its files in a temporary
folder and removes them when stopped. PostgreSQL refuses to run as root, so as root the
cluster belongs to the `postgres` user that the package creates.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from devstack.stack import HOST
from devstack.stack import free_port

SUPERUSER = "postgres"
DRIVER = "postgresql+psycopg"


class PostgresError(RuntimeError):
    """The cluster could not be created or started."""


def server_bindir() -> Path | None:
    """The folder with initdb and pg_ctl: on PATH, else the newest Debian version."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    return Path(found[-1]).parent if found else None


def url(port: int, database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the cluster at ``port``."""
    return f"{DRIVER}://{SUPERUSER}@{HOST}:{port}/{database}"


class Cluster:
    """initdb + pg_ctl start on entry, pg_ctl stop and removal of its folder on exit."""

    def __init__(self, bindir: Path | None = None, port: int = 0) -> None:
        found = bindir or server_bindir()
        if found is None:
            raise PostgresError("no PostgreSQL server binaries (make pg-deps installs them)")
        self.bindir = found
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="speaker-portal-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        # As root, the server runs as the postgres user, which must own the folder.
        self.run_as = SUPERUSER if os.geteuid() == 0 else None

    @property
    def admin_url(self) -> str:
        """The maintenance database, from which test databases are created."""
        return url(self.port, "postgres")

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise PostgresError(f"{args[0]} failed:\n{done.stdout}{done.stderr}{log}")

    def start(self) -> Cluster:
        """Create the cluster and start its server; wait until it accepts connections."""
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-sync",
        )
        self.start_server()
        return self

    def start_server(self) -> None:
        """Start the server on the cluster's files and port; wait until it accepts connections."""
        # No fsync: a throwaway cluster; max_connections: two servers' pools plus the tests.
        options = (
            f"-c listen_addresses={HOST} -c port={self.port}"
            f" -c unix_socket_directories={self.root} -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "start",
            "--pgdata",
            str(self.data),
            "--log",
            str(self.log),
            "--wait",
            "--options",
            options,
        )

    def stop_server(self) -> None:
        """Stop the server (fast: open sessions are cut), keeping its files: a database outage."""
        self._run("pg_ctl", "stop", "--pgdata", str(self.data), "--mode", "fast", "--wait")

    def restart(self) -> None:
        """Stop the server and start it again, as a crash or an upgrade would."""
        self.stop_server()
        self.start_server()

    def stop(self) -> None:
        """Stop the server (fast: sessions are cut) and remove its files."""
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop_server()
            except PostgresError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def create_database(admin_url: str, name: str) -> str:
    """Create an empty database ``name`` on the server of ``admin_url``; return its URL."""
    from sqlalchemy import create_engine
    from sqlalchemy import text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return str(engine.url.set(database=name).render_as_string(hide_password=False))


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name``, cutting any session still connected to it."""
    from sqlalchemy import create_engine
    from sqlalchemy import text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Start a cluster with one database per app; print the settings; stop on Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Cluster(port=args.port) as cluster:
        for prefix in ("IDP", "SF", "PORTAL"):
            database = create_database(cluster.admin_url, prefix.lower())
            print(f"export {prefix}_DATABASE_URL={database}")
        print(
            f"# PostgreSQL {cluster.bindir.parent.name} on {HOST}:{cluster.port};"
            " Ctrl-C stops it and removes its files",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
