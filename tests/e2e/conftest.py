"""Browser journeys run in Chromium against the stack that devstack starts."""

from __future__ import annotations

import os
from typing import Any

import pytest

from devstack import Stack
from devstack.browser import CHROMIUM_ARGS
from devstack.browser import chromium_path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every journey in this folder as e2e."""
    for item in items:
        if "tests/e2e/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the system Chromium with flags that suit a closed network and a root user."""
    args = {**browser_type_launch_args, "args": CHROMIUM_ARGS}
    path = chromium_path()
    if path:
        args["executable_path"] = path
    return args


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    """Pages are addressed relative to the portal."""
    return stack.urls["portal"]
