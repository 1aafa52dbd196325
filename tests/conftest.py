"""Fixtures shared by every test folder: the real three-app stack on free ports, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import FREE_PORTS
from devstack import Stack
from devstack import postgres

# Without PostgreSQL its tests skip; on CI (root, where `make pg-deps` installs it) they fail.
NO_POSTGRES = "PostgreSQL is not installed: `make pg-deps` installs Debian's postgresql"
DATABASE_KINDS = ("sqlite", "postgresql")
APP_PREFIXES = ("IDP", "SF", "PORTAL")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The three apps as `make demo` starts them, seeded, each on a free port in its own folder."""
    root = tmp_path_factory.mktemp("stack")
    with Stack(root, ports=FREE_PORTS) as running:
        yield running


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Attach the apps' logs to the report of a failing test that used the stack."""
    report = yield
    running = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(running, Stack):
        for name, text in running.logs(80).items():
            report.sections.append((f"stack log: {name}", text))
    return report


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The maintenance URL of a PostgreSQL server: TEST_POSTGRES_URL, else a throwaway cluster."""
    given = os.environ.get("TEST_POSTGRES_URL")
    if given:
        yield given
        return
    if postgres.server_bindir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{NO_POSTGRES}; CI must run the PostgreSQL tests")
        pytest.skip(NO_POSTGRES)
    with postgres.Cluster() as cluster:
        yield cluster.admin_url


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Iterator[Callable[[], str]]:
    """Make a fresh empty database on the server and return its URL; all dropped at the end."""
    made: list[str] = []

    def make() -> str:
        made.append(f"test_{uuid.uuid4().hex[:12]}")
        return postgres.create_database(postgres_server, made[-1])

    yield make
    for name in made:
        postgres.drop_database(postgres_server, name)


@pytest.fixture
def app_database(request: pytest.FixtureRequest) -> str | None:
    """The database of the apps' unit tests: None (SQLite in the test's folder), or with
    TEST_DATABASE=postgresql a fresh PostgreSQL one, to run a whole suite there by hand."""
    if os.environ.get("TEST_DATABASE") == "postgresql":
        return request.getfixturevalue("postgres_database")()
    return None


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind the apps support."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return request.getfixturevalue("postgres_database")()


@pytest.fixture(scope="session")
def database_env(request: pytest.FixtureRequest) -> Callable[[str], dict[str, str]]:
    """The environment that puts a stack on a database kind: for PostgreSQL, a fresh database
    per app (SQLite is each app's default, in its instance folder)."""

    def env(kind: str) -> dict[str, str]:
        if kind == "sqlite":
            return {}
        make = request.getfixturevalue("postgres_database")
        return {f"{prefix}_DATABASE_URL": make() for prefix in APP_PREFIXES}

    return env
