"""make serve's stack: each app under gunicorn with two workers, a speaker's flow across them.

Sync workers close the connection after each response, so consecutive requests of one browser
land on whichever worker accepts first: a login, its OIDC code, the portal's cached Salesforce
session and the case it creates must all work from any worker.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest
import requests

from devstack import APPS
from devstack import FREE_PORTS
from devstack import Stack

SPEAKERS = {
    "ada": {"email": "ada@speakers.example", "password": "ada-demo"},
    "grace": {"email": "grace@speakers.example", "password": "grace-demo"},
}
SUPPORT_VISITS = 4


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The apps as `make serve` runs them: seeded, demo controls off."""
    root = tmp_path_factory.mktemp("gunicorn")
    serve = {"server": "gunicorn", "workers": 2, "demo_controls": False}
    with Stack(root, ports=FREE_PORTS, **serve) as running:
        yield running


def browser() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy, no CA bundle from the environment
    return session


def log_in(stack: Stack, http: requests.Session, speaker: dict[str, str]) -> requests.Response:
    """Start at the portal, sign in on the IdP's form, follow the redirects back to /support."""
    page = http.get(f"{stack.urls['portal']}/auth/login?next=/support", timeout=10)
    assert page.url.startswith(stack.urls["idp"]), page.url
    action = re.search(r'<form[^>]*action="([^"]*)"', page.text).group(1)
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text))
    return http.post(urljoin(page.url, action), data={**fields, **speaker}, timeout=10)


def successful_exchanges(stack: Stack) -> list[str]:
    """The users of mock_sf's successful token exchanges, from its exchange log."""
    with sqlite3.connect(stack.instance_paths["sf"] / "mock_sf.sqlite3") as database:
        rows = database.execute(
            "SELECT user_id FROM exchange_attempt WHERE outcome = 'success' ORDER BY id"
        ).fetchall()
    return [user_id for (user_id,) in rows]


def test_every_app_runs_two_gunicorn_workers(stack: Stack) -> None:
    for app in APPS:
        log = stack.log_path(app.name).read_text()
        assert "Using worker: sync" in log, app.name
        assert len(re.findall(r"Booting worker with pid: \d+", log)) == 2, app.name


def test_login_exchange_and_case_work_across_workers(stack: Stack) -> None:
    ada, grace = browser(), browser()

    support = log_in(stack, ada, SPEAKERS["ada"])
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
    welcome = log_in(stack, grace, SPEAKERS["grace"])
    assert "Signed in as Grace Hopper" in welcome.text
    assert grace.get(f"{stack.urls['portal']}/support", timeout=10).status_code == 200

    # One exchange per login, however many workers served its requests.
    users = successful_exchanges(stack)
    assert len(users) == 2 and len(set(users)) == 2
