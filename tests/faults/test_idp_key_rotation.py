"""The IdP rotates its signing key while mock_sf holds its JWKS in cache, at the process level.

mock_sf refetches the JWKS when a token names a kid it lacks, at most once per cooldown (set to
COOLDOWN seconds here, 30 by default): tokens under the old key pass during the overlap without
any fetch, a token under the new key passes after exactly one, and a burst of unknown kids costs
the IdP at most one fetch per cooldown. Fetches are counted in the IdP's access log.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack import FREE_PORTS
from devstack import Stack
from tests.stack_http import TIMEOUT
from tests.stack_http import browser
from tests.stack_http import exchange
from tests.stack_http import exchange_log
from tests.stack_http import forged

ADA = "ada@speakers.example"
COOLDOWN = 1.0  # JWKS_REFETCH_COOLDOWN_SECONDS: short, so the test can wait one out
BURST = 20  # under the throttle's per-app limit; each token has a subject of its own
KEYS_REQUEST = '"GET /oauth2/default/v1/keys HTTP/1.1" 200'
VALIDATION_FAILED = {
    "error": "invalid_request",
    "error_description": "token handler validation failed",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of this module's own: its IdP rotates keys."""
    cooldown = {"SF_JWKS_REFETCH_COOLDOWN_SECONDS": str(COOLDOWN)}
    root = tmp_path_factory.mktemp("key-rotation")
    with Stack(root, ports=FREE_PORTS, extra_env=cooldown) as running:
        yield running


def jwks_fetches(stack: Stack) -> int:
    """How many times the IdP has served its JWKS (only mock_sf asks for it in this module)."""
    return stack.log_path("idp").read_text(errors="replace").count(KEYS_REQUEST)


def kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def wait_out_the_cooldown(since: float) -> None:
    """Let COOLDOWN seconds pass since `since` (mock_sf's clock is the same monotonic clock)."""
    time.sleep(max(0.0, since + COOLDOWN - time.monotonic()))


def test_old_key_tokens_pass_the_overlap_and_the_new_kid_after_one_refresh(stack: Stack) -> None:
    old_tokens = [forged(stack, ADA) for _ in range(3)]
    fetches = jwks_fetches(stack)
    assert exchange(stack, old_tokens[0]).status_code == 200
    fetched_at = time.monotonic()
    assert jwks_fetches(stack) == fetches + 1  # the cache's first fill

    with browser() as http:
        rotation = http.post(f"{stack.urls['idp']}/_demo/rotate-keys", timeout=TIMEOUT).json()
    new_token = forged(stack, ADA)
    assert kid(old_tokens[1]) == rotation["previous_kid"] != kid(new_token)
    assert kid(new_token) == rotation["active_kid"]

    during_overlap = exchange(stack, old_tokens[1])
    assert during_overlap.status_code == 200, during_overlap.text
    assert jwks_fetches(stack) == fetches + 1  # a known kid: no fetch
    wait_out_the_cooldown(fetched_at)
    new_kid = exchange(stack, new_token)
    assert new_kid.status_code == 200, new_kid.text
    assert jwks_fetches(stack) == fetches + 2  # exactly one refresh
    after_refresh = exchange(stack, old_tokens[2])  # the old key is still published
    assert after_refresh.status_code == 200, after_refresh.text
    assert jwks_fetches(stack) == fetches + 2


def unknown_kid_token(stack: Stack, key: rsa.RSAPrivateKey, index: int) -> str:
    """An access token shaped like the IdP's, for a subject of its own, under a kid the IdP never
    published (what a flood meant to make us hammer the IdP looks like)."""
    now = int(time.time())
    claims = {
        "iss": f"{stack.urls['idp']}/oauth2/default",
        "sub": f"00uburst{index:04d}",
        "aud": "api://default",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "cid": "speaker-portal",
    }
    headers = {"kid": f"burst-{index}", "typ": "at+jwt"}
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)


def test_a_burst_of_unknown_kids_costs_at_most_one_fetch_per_cooldown(stack: Stack) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = [unknown_kid_token(stack, key, index) for index in range(BURST)]
    start = threading.Barrier(BURST)

    def attempt(token: str) -> requests.Response:
        start.wait()
        return exchange(stack, token)

    wait_out_the_cooldown(time.monotonic())  # of any fetch before: this burst may cause one
    fetches = jwks_fetches(stack)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        responses = list(pool.map(attempt, tokens))
    elapsed = time.monotonic() - started

    assert [(r.status_code, r.json()) for r in responses] == [(400, VALIDATION_FAILED)] * BURST
    reasons = {row["reason"] for row in exchange_log(stack)[-BURST:]}
    keys_url = f"{stack.urls['idp']}/oauth2/default/v1/keys"
    assert reasons == {f"unknown kid 'burst-{i}' (not in {keys_url})" for i in range(BURST)}
    # Fetches are at least COOLDOWN apart, so a burst that lasted `elapsed` allows this many:
    allowed = int(elapsed // COOLDOWN) + 1
    assert 1 <= jwks_fetches(stack) - fetches <= allowed < BURST, (elapsed, allowed)
