"""mock_sf restarted in the middle of a speaker's session: the portal recovers on her next page,
and she never logs in again.

The Salesforce session lives in mock_sf's database, so a restart on the same database keeps it:
the next page simply works, with no new exchange. Had mock_sf come back without its sessions,
the portal renews once (Salesforce refresh token, else a fresh IdP token exchanged again).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy import text

from devstack import FREE_PORTS
from devstack import Stack
from tests.stack_http import TIMEOUT
from tests.stack_http import browser
from tests.stack_http import exchange_log
from tests.stack_http import log_in
from tests.stack_http import sf_database_url


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of this module's own: its mock_sf restarts."""
    with Stack(tmp_path_factory.mktemp("sf-restart"), ports=FREE_PORTS) as running:
        yield running


def support_page(stack: Stack, http: requests.Session) -> str:
    """Ada's Support page, which must come without a detour through the login."""
    page = http.get(f"{stack.urls['portal']}/support", timeout=TIMEOUT)
    assert page.status_code == 200, page.text
    # No redirect at all: her browser's IdP session would make a new login silent otherwise.
    assert page.history == [], [r.headers.get("Location") for r in page.history]
    assert "Signed in as Ada Lovelace" in page.text
    assert "Projector adapter for room B" in page.text  # her cases, from Salesforce
    return str(page.text)


def test_a_restart_on_the_same_database_keeps_the_salesforce_session(stack: Stack) -> None:
    ada = browser()
    assert "Signed in as Ada Lovelace" in log_in(stack, ada, "ada").text  # exchanged, cached
    exchanges = len(exchange_log(stack))
    pids = {name: process.pid for name, process in stack.processes.items()}

    stack.restart("sf")

    assert stack.processes["sf"].pid != pids["sf"]  # a new process on the same port
    assert {name: p.pid for name, p in stack.processes.items() if name != "sf"} == {
        name: pid for name, pid in pids.items() if name != "sf"
    }
    support_page(stack, ada)
    assert len(exchange_log(stack)) == exchanges  # the cached session still works


def test_a_restart_without_the_sessions_costs_one_exchange_not_a_login(stack: Stack) -> None:
    ada = browser()
    log_in(stack, ada, "ada")
    exchanges = len(exchange_log(stack))

    stack.stop_app("sf")
    forget_every_salesforce_session(stack)
    stack.start_app("sf")

    support_page(stack, ada)
    renewals = exchange_log(stack)[exchanges:]
    assert [row["outcome"] for row in renewals] == ["success"]  # one new exchange, no login


def forget_every_salesforce_session(stack: Stack) -> None:
    """mock_sf comes back without its sessions: every access and refresh token it issued is gone."""
    engine = create_engine(sf_database_url(stack))
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM oauth_token"))
            connection.execute(text("DELETE FROM oauth_refresh_token"))
    finally:
        engine.dispose()
