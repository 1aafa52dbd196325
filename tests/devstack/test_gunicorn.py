"""make serve's stack: each app under gunicorn with two workers, a speaker's flow across them.

Sync workers close the connection after each response, so consecutive requests of one browser
land on whichever worker accepts first: a login, its OIDC code, the portal's cached Salesforce
session and the case it creates must all work from any worker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from devstack import APPS
from devstack import FREE_PORTS
from devstack import Stack
from tests.stack_http import browser
from tests.stack_http import exchange_log
from tests.stack_http import log_in

SUPPORT_VISITS = 4


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The apps as `make serve` runs them: seeded, demo controls off."""
    root = tmp_path_factory.mktemp("gunicorn")
    serve = {"server": "gunicorn", "workers": 2, "demo_controls": False}
    with Stack(root, ports=FREE_PORTS, **serve) as running:
        yield running


def successful_exchanges(stack: Stack) -> list[str]:
    """The users of mock_sf's successful token exchanges, from its exchange log."""
    return [row["user_id"] for row in exchange_log(stack) if row["outcome"] == "success"]


def test_every_app_runs_two_gunicorn_workers(stack: Stack) -> None:
    for app in APPS:
        log = stack.log_path(app.name).read_text()
        assert "Using worker: sync" in log, app.name
        assert len(re.findall(r"Booting worker with pid: \d+", log)) == 2, app.name


def test_login_exchange_and_case_work_across_workers(stack: Stack) -> None:
    ada, grace = browser(), browser()

    support = log_in(stack, ada, "ada")
    assert support.url == f"{stack.urls['portal']}/support"
    assert "Signed in as Ada Lovelace" in support.text
    assert "Projector adapter for room B" in support.text
    for _ in range(SUPPORT_VISITS):  # each on any worker, all with the one cached session
        assert ada.get(f"{stack.urls['portal']}/support", timeout=10).status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', support.text).group(1)
    created = ada.post(
        f"{stack.urls['portal']}/support/cases",
        data={
            "csrf_token": token,
            "subject": "Clicker for slides",
            "description": "Room C, Wednesday.",
            "priority": "Medium",
        },
        timeout=10,
    )
    assert re.fullmatch(rf"{stack.urls['portal']}/support/cases/500\w{{15}}", created.url)
    listing = ada.get(f"{stack.urls['portal']}/support", timeout=10)
    assert ">Clicker for slides</a>" in listing.text

    # Grace is new to Salesforce: her first exchange creates her user, on whichever worker.
    welcome = log_in(stack, grace, "grace")
    assert "Signed in as Grace Hopper" in welcome.text
    assert grace.get(f"{stack.urls['portal']}/support", timeout=10).status_code == 200

    # One exchange per login, however many workers served its requests.
    users = successful_exchanges(stack)
    assert len(users) == 2 and len(set(users)) == 2
