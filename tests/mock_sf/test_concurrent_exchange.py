"""Concurrent exchanges against the real servers, on SQLite and on PostgreSQL: a new speaker is
created once, and two mock_sf processes on one database behave as one Salesforce."""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sqlalchemy import func
from sqlalchemy import select

from devstack import FREE_PORTS
from devstack import Stack
from tests.stack_http import SF_TLS
from tests.stack_http import exchange
from tests.stack_http import forged

# Below the subject token failure limit (10 a minute), so the refusals lock nobody out.
ATTEMPTS = 8
# A new speaker's first exchanges, all at once across the two processes (issue 10, faults).
FIRST_EXCHANGES = 50
HEDY = {
    "email": "hedy@speakers.example",
    "given_name": "Hedy",
    "family_name": "Lamarr",
    "company": "Frequency Hopping Co",
}


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    database_env: Callable[[str], dict[str, str]],
) -> Iterator[Stack]:
    """A stack of this module's own, so Grace is surely new to Salesforce; its two mock_sf
    processes (HTTP and HTTPS, each on its own port) share one database."""
    kind = request.param
    root = tmp_path_factory.mktemp(f"concurrent-{kind}")
    with Stack(root, ports=FREE_PORTS, extra_env=database_env(kind)) as running:
        yield running


def forged_tokens(stack: Stack, email: str, count: int) -> list[str]:
    """`count` valid IdP access tokens for `email`, each with its own jti."""
    return [forged(stack, email) for _ in range(count)]


def race(stack: Stack, tokens: list[str]) -> list[requests.Response]:
    """Send each exchange at once, alternately to each mock_sf process."""
    servers = ["sf", SF_TLS.name] * len(tokens)
    start = threading.Barrier(len(tokens))

    def attempt(index: int) -> requests.Response:
        start.wait()
        return exchange(stack, tokens[index], server=servers[index])

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        return list(pool.map(attempt, range(len(tokens))))


def with_app_env(stack: Stack, monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    """Point an app created in this process at the stack's folder and database."""
    for name, value in stack.env.items():
        if name.startswith(f"{prefix}_") or name.endswith("_URL"):
            monkeypatch.setenv(name, value)


def test_parallel_first_exchanges_for_one_new_speaker_create_exactly_one_user(
    stack: Stack,
) -> None:
    tokens = forged_tokens(stack, "grace@speakers.example", 6)

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        responses = list(pool.map(lambda token: exchange(stack, token), tokens))

    assert [r.status_code for r in responses] == [200] * len(tokens), [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1  # one identity URL: one Salesforce user


def test_a_jti_raced_across_two_servers_is_accepted_exactly_once(stack: Stack) -> None:
    [token] = forged_tokens(stack, "ada@speakers.example", 1)

    responses = race(stack, [token] * ATTEMPTS)

    outcomes = sorted((r.status_code, r.text) for r in responses)
    assert [status for status, _ in outcomes] == [200] + [400] * (ATTEMPTS - 1), outcomes
    refusals = {body for status, body in outcomes if status == 400}
    assert len(refusals) == 1, refusals  # every other attempt is the replay, in one wording


def test_a_new_subject_raced_across_two_servers_is_created_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mock_idp import create_app as create_idp
    from mock_idp import users
    from mock_idp.models import db as idp_db

    with_app_env(stack, monkeypatch, "IDP")
    idp = create_idp()
    with idp.app_context():  # a speaker who registered at the IdP after the seed
        users.create_user(password="hedy-demo", **HEDY)
        idp_db.session.commit()
        idp_db.engine.dispose()
    tokens = forged_tokens(stack, HEDY["email"], FIRST_EXCHANGES)

    responses = race(stack, tokens)

    assert [r.status_code for r in responses] == [200] * FIRST_EXCHANGES, [
        r.text for r in responses if r.status_code != 200
    ]
    assert len({r.json()["id"] for r in responses}) == 1
    assert salesforce_counts(stack, monkeypatch) == {"User": 1, "Contact": 1, "Account": 1}


def salesforce_counts(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Hedy's User, Contact and Account rows in mock_sf's database."""
    from mock_sf import create_app
    from mock_sf.models import Account
    from mock_sf.models import Contact
    from mock_sf.models import User
    from mock_sf.models import db

    with_app_env(stack, monkeypatch, "SF")
    with create_app().app_context():
        counts = {
            "User": db.session.scalar(
                select(func.count()).select_from(User).where(User.email == HEDY["email"])
            ),
            "Contact": db.session.scalar(
                select(func.count()).select_from(Contact).where(Contact.email == HEDY["email"])
            ),
            "Account": db.session.scalar(
                select(func.count()).select_from(Account).where(Account.name == HEDY["company"])
            ),
        }
        db.session.remove()
        db.engine.dispose()
    return counts
