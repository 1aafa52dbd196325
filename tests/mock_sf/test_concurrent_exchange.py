"""Concurrent first exchanges against the real servers: one new speaker, exactly one user."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devstack import FREE_PORTS
from devstack import Stack

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of this module's own, so Grace is surely new to Salesforce."""
    with Stack(tmp_path_factory.mktemp("concurrent"), ports=FREE_PORTS) as running:
        yield running


def forged_access_token(http: requests.Session, stack: Stack, email: str) -> str:
    """A valid IdP access token for `email`, from the IdP's forge (demo controls)."""
    response = http.post(
        f"{stack.urls['idp']}/_demo/forge",
        json={"kind": "access_token", "variant": "valid", "user": email},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["token"])


def exchange(stack: Stack, subject_token: str) -> requests.Response:
    with requests.Session() as http:
        http.trust_env = False
        return http.post(
            f"{stack.urls['sf']}/services/oauth2/token",
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": subject_token,
                "subject_token_type": ACCESS_TOKEN,
                "client_id": "speaker-portal",
                "client_secret": "portal-sf-demo-secret",
            },
            timeout=30,
        )


def test_parallel_first_exchanges_for_one_new_speaker_create_exactly_one_user(
    stack: Stack,
) -> None:
    with requests.Session() as http:
        http.trust_env = False
        tokens = [forged_access_token(http, stack, "grace@speakers.example") for _ in range(6)]

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        responses = list(pool.map(lambda token: exchange(stack, token), tokens))

    assert [r.status_code for r in responses] == [200] * len(tokens), [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1  # one identity URL: one Salesforce user
