"""Fixtures shared by every test folder: the real three-app stack on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack import FREE_PORTS
from devstack import Stack


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
