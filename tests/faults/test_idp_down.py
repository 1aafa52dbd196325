"""The IdP down, with every other process up: what keeps working and what fails, and how.

mock_sf verifies JWTs with the JWKS it cached, so JWT exchanges go on; opaque and refresh tokens
need the IdP's introspection endpoint, so their exchanges fail closed, the log saying why. At
the portal, a speaker whose Salesforce session is warm keeps working; one who needs the IdP
(here: her login's callback) gets the friendly page, and is logged in once the IdP is back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from devstack import FREE_PORTS
from devstack import Stack
from tests.stack_http import TIMEOUT
from tests.stack_http import browser
from tests.stack_http import exchange
from tests.stack_http import exchange_log
from tests.stack_http import forged
from tests.stack_http import log_in
from tests.stack_http import next_url
from tests.stack_http import sign_in_at_idp

ADA = "ada@speakers.example"
VALIDATION_FAILED = {
    "error": "invalid_request",
    "error_description": "token handler validation failed",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of this module's own: its IdP goes down."""
    with Stack(tmp_path_factory.mktemp("idp-down"), ports=FREE_PORTS) as running:
        yield running


@contextmanager
def idp_down(stack: Stack) -> Iterator[None]:
    """The IdP process stopped (its port refuses connections), started again afterwards."""
    stack.stop_app("idp")
    try:
        yield
    finally:
        stack.start_app("idp")


def test_jwt_exchanges_go_on_from_cached_keys_and_introspection_fails_closed(
    stack: Stack,
) -> None:
    first, second = forged(stack, ADA), forged(stack, ADA)
    refresh_token = forged(stack, ADA, kind="refresh_token")
    assert exchange(stack, first).status_code == 200  # mock_sf fetches and caches the JWKS

    with idp_down(stack):
        from_cache = exchange(stack, second)
        introspected = exchange(stack, refresh_token, kind="refresh_token")
        log = exchange_log(stack)

    assert from_cache.status_code == 200, from_cache.text
    assert from_cache.json()["id"].endswith(log[-2]["user_id"])  # Ada, as ever
    assert (introspected.status_code, introspected.json()) == (400, VALIDATION_FAILED)
    reason = log[-1]["reason"]
    assert (log[-1]["outcome"], log[-1]["error"]) == ("failure", "invalid_request")
    assert reason == (
        f"the IdP is unreachable: introspection at {stack.urls['idp']}/oauth2/default/v1/introspect"
        " failed (ConnectionError)"
    ), reason


def test_a_warm_speaker_keeps_working_and_a_login_gets_a_page_until_the_idp_is_back(
    stack: Stack,
) -> None:
    ada, grace = browser(), browser()
    assert "Signed in as Ada Lovelace" in log_in(stack, ada, "ada").text  # exchanged, cached
    callback = sign_in_at_idp(stack, grace, "grace")  # the IdP sends her back with a code
    assert callback.is_redirect
    exchanges = len(exchange_log(stack))

    with idp_down(stack):
        support = ada.get(f"{stack.urls['portal']}/support", timeout=TIMEOUT)
        login = grace.get(next_url(callback), timeout=TIMEOUT)

    assert (support.status_code, support.history) == (200, []), support.text
    assert "Signed in as Ada Lovelace" in support.text
    assert "Projector adapter for room B" in support.text  # her cases, from Salesforce
    assert len(exchange_log(stack)) == exchanges  # the cached Salesforce session, no exchange
    assert login.status_code == 503
    assert "The login service is unavailable" in login.text
    assert "<code>idp_unavailable</code>" in login.text
    # The IdP is back: her next try goes through (her IdP session outlived the IdP's restart).
    again = grace.get(f"{stack.urls['portal']}/auth/login?next=/support", timeout=TIMEOUT)
    assert again.url == f"{stack.urls['portal']}/support"
    assert "Signed in as Grace Hopper" in again.text
