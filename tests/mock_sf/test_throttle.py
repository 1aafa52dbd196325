"""Throttling of refused subject tokens per subject within an app (security checklist #12)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy import update

from mock_sf.failed_credentials import CredentialFailure
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.oauth import throttle
from mock_sf.oauth.throttle import SubjectTokenFailure
from tests.mock_sf.conftest import Api

TOO_MANY = {
    "error": "invalid_request",
    "error_description": "too many failed attempts, try again later",
}
AUTH_FAILURE = {"error": "invalid_grant", "error_description": "authentication failure"}


def bad_token(idp: Any, sub: str | None = None) -> str:
    return idp.access_token(sub or idp.ADA_SUB, aud="api://other")


def failures(app: Flask) -> list[SubjectTokenFailure]:
    with app.app_context():
        rows = db.session.scalars(select(SubjectTokenFailure).order_by(SubjectTokenFailure.id))
        return list(rows)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The throttle's clock, frozen; move it with ``clock[0] += timedelta(...)``."""
    now = [utcnow()]
    monkeypatch.setattr(throttle, "current_time", lambda: now[0])
    return now


def test_the_eleventh_bad_token_gets_a_429(api: Any, idp: Any) -> None:
    for _ in range(10):
        assert api.exchange(bad_token(idp)).status_code == 400
    response = api.exchange(bad_token(idp))
    assert response.status_code == 429
    assert response.get_json() == TOO_MANY
    assert response.headers["Cache-Control"] == "no-store"
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    # A valid token of the same speaker is refused too until the window passes.
    assert api.exchange(idp.access_token()).status_code == 429


BAD_TOKENS: dict[str, Callable[[Any, str], str]] = {
    "wrong audience": lambda idp, sub: idp.access_token(sub, aud="api://other"),
    "expired": lambda idp, sub: idp.access_token(sub, exp=1),
    "wrong typ": lambda idp, sub: idp.access_token(sub, headers={"typ": "JWT"}),
}


@pytest.mark.parametrize("make_bad", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_one_speakers_bad_tokens_do_not_block_another_speaker(
    api: Any, idp: Any, make_bad: Callable[[Any, str], str]
) -> None:
    for _ in range(10):
        assert api.exchange(make_bad(idp, idp.ADA_SUB)).status_code == 400
    assert api.exchange(idp.access_token(idp.ADA_SUB)).status_code == 429
    assert api.exchange(idp.access_token(idp.GRACE_SUB)).status_code == 200


def test_an_unparseable_token_is_keyed_by_its_fingerprint(api: Any, idp: Any) -> None:
    for _ in range(10):
        assert api.exchange("not-a-jwt").status_code == 400
    assert api.exchange("not-a-jwt").status_code == 429
    assert api.exchange("another-non-jwt").status_code == 400
    assert api.exchange(idp.access_token()).status_code == 200


NO_CLIENT: dict[str, dict[str, Any]] = {
    "no secret": {"overrides": {"client_secret": None}},
    "wrong secret": {"overrides": {"client_secret": "wrong"}},
    "unknown client": {"overrides": {"client_id": "someone-else"}},
    "wrong secret via Basic": {
        "overrides": {"client_id": None, "client_secret": None},
        "headers": {"Authorization": "Basic " + base64.b64encode(b"speaker-portal:no").decode()},
    },
}


@pytest.mark.parametrize("request_kind", NO_CLIENT.values(), ids=NO_CLIENT.keys())
def test_oversized_tokens_without_a_secret_block_nobody(
    app: Flask, api: Any, idp: Any, request_kind: dict[str, Any]
) -> None:
    for _ in range(20):
        response = api.exchange(
            "a" * 10_001, headers=request_kind.get("headers"), **request_kind["overrides"]
        )
        assert (response.status_code, response.get_json()) == (400, AUTH_FAILURE)
    assert failures(app) == []
    assert api.exchange(idp.access_token()).status_code == 200


@pytest.mark.parametrize("request_kind", NO_CLIENT.values(), ids=NO_CLIENT.keys())
def test_bad_tokens_of_an_unauthenticated_client_are_not_counted(
    app: Flask, api: Any, idp: Any, request_kind: dict[str, Any]
) -> None:
    for _ in range(11):
        response = api.exchange(
            bad_token(idp), headers=request_kind.get("headers"), **request_kind["overrides"]
        )
        assert response.status_code == 400
    assert failures(app) == []
    assert api.exchange(idp.access_token()).status_code == 200


def test_oversized_tokens_with_the_secret_are_not_counted_either(
    app: Flask, api: Any, idp: Any
) -> None:
    for _ in range(20):
        assert api.exchange("a" * 10_001).get_json() == AUTH_FAILURE
    assert failures(app) == []


def test_valid_tokens_do_not_count(app: Flask, api: Any, idp: Any) -> None:
    for _ in range(11):
        assert api.exchange(idp.access_token()).status_code == 200
    assert failures(app) == []


def test_attempts_while_locked_do_not_extend_the_lock(
    app: Flask, api: Any, idp: Any, clock: list[datetime]
) -> None:
    for _ in range(10):
        api.exchange(bad_token(idp))
    clock[0] += timedelta(seconds=30)
    attempts = [(bad_token, 429), (lambda idp: idp.access_token(), 429)]
    attempts.append((lambda idp: "a" * 10_001, 400))  # refused before the throttle is asked
    for make, status in attempts:
        for _ in range(5):
            assert api.exchange(make(idp)).status_code == status
    locked = api.exchange(idp.access_token())
    assert (locked.status_code, locked.headers["Retry-After"]) == (429, "31")
    assert len(failures(app)) == 10
    clock[0] += timedelta(seconds=31)
    assert api.exchange(idp.access_token()).status_code == 200


def test_failures_leave_the_window(app: Flask, api: Any, idp: Any) -> None:
    for _ in range(10):
        api.exchange(bad_token(idp))
    with app.app_context():
        db.session.execute(
            update(SubjectTokenFailure).values(created_at=utcnow() - timedelta(seconds=61))
        )
        db.session.commit()
    assert api.exchange(idp.access_token()).status_code == 200


@pytest.mark.parametrize(
    "app", [{"SUBJECT_TOKEN_FAILURE_APP_LIMIT": 3}], indirect=True, ids=["app limit 3"]
)
def test_the_app_ceiling_blocks_every_subject(
    app: Flask, api: Any, idp: Any, clock: list[datetime]
) -> None:
    for sub in ("00u1first", "00u1second", "00u1third"):
        assert api.exchange(bad_token(idp, sub)).status_code == 400
    response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert (response.status_code, response.get_json()) == (429, TOO_MANY)
    assert response.headers["Retry-After"] == "61"
    clock[0] += timedelta(seconds=61)
    assert api.exchange(idp.access_token(idp.GRACE_SUB)).status_code == 200


@pytest.mark.parametrize("limit", [0, 3])
def test_the_subject_limit_is_configurable(app: Flask, api: Any, idp: Any, limit: int) -> None:
    app.config["SUBJECT_TOKEN_FAILURE_LIMIT"] = limit
    for _ in range(3):
        api.exchange(bad_token(idp))
    expected = 429 if limit else 400
    assert api.exchange(bad_token(idp)).status_code == expected


@pytest.mark.parametrize(
    ("app", "recorded"),
    [({}, "127.0.0.1"), ({"TRUSTED_PROXIES": 1}, "203.0.113.7")],
    indirect=["app"],
    ids=["no proxy trusted", "one proxy trusted"],
)
def test_x_forwarded_for_is_read_only_behind_a_configured_proxy(
    app: Flask, api: Any, idp: Any, recorded: str
) -> None:
    response = api.exchange(bad_token(idp), headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.status_code == 400
    assert [(row.remote_addr, row.subject) for row in failures(app)] == [
        (recorded, f"{idp.ISSUER}|{idp.ADA_SUB}")
    ]


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2kiLCJzdWIiOiJzIn0.", "https://i|s"),
        ("not-a-jwt", "sha256:"),
        ("a.b.c", "sha256:"),
        ("eyJ4IjoxfQ.eyJzdWIiOjF9.", "sha256:"),  # sub is not a string
    ],
)
def test_subject_key(token: str, expected: str) -> None:
    assert throttle.subject_key(token).startswith(expected)


# Wrong client secrets (issue 10, finding 9): per app at the client's address, with a ceiling
# per app; every endpoint that checks a secret.

WRONG_SECRET = {"error": "invalid_client", "error_description": "invalid client credentials"}
PORTAL_SECRET = "portal-sf-demo-secret"


def secret_failures(app: Flask) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(CredentialFailure).order_by(CredentialFailure.id))
        return [(row.kind, row.principal, row.remote_addr) for row in rows]


def from_address(app: Flask, address: str, forwarded_for: str | None = None) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def basic(secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"speaker-portal:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


class SecretEndpoints:
    """One request per endpoint that checks a client secret, with the secret given."""

    def __init__(self, api: Any, idp: Any) -> None:
        self.api, self.idp = api, idp

    def exchange_in_the_body(self, client: FlaskClient, secret: str) -> Any:
        return Api(client, self.idp).exchange(self.idp.access_token(), client_secret=secret)

    def exchange_with_basic(self, client: FlaskClient, secret: str) -> Any:
        return Api(client, self.idp).exchange(
            self.idp.access_token(),
            headers=basic(secret),
            client_id=None,
            client_secret=None,
        )

    def refresh(self, client: FlaskClient, secret: str) -> Any:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": "5Aep861unknown",
            "client_id": "speaker-portal",
            "client_secret": secret,
        }
        return client.post("/services/oauth2/token", data=form)

    def introspection(self, client: FlaskClient, secret: str) -> Any:
        form = {"token": "unknown", "client_id": "speaker-portal", "client_secret": secret}
        return client.post("/services/oauth2/introspect", data=form)


ENDPOINTS = ["exchange_in_the_body", "exchange_with_basic", "refresh", "introspection"]
GOOD_STATUS = {
    "exchange_in_the_body": 200,
    "exchange_with_basic": 200,
    "refresh": 400,  # the unknown refresh token, after the client authenticated
    "introspection": 200,
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_wrong_client_secrets_are_throttled(
    app: Flask, api: Any, idp: Any, endpoint: str, clock: list[datetime]
) -> None:
    send = getattr(SecretEndpoints(api, idp), endpoint)
    guesser = from_address(app, "10.6.6.6")
    for _ in range(20):
        response = send(guesser, "wrong")
        assert (response.status_code, response.get_json()) == (400, WRONG_SECRET)
    locked = send(guesser, PORTAL_SECRET)  # the right secret is not even checked
    assert (locked.status_code, locked.get_json()) == (429, TOO_MANY)
    assert locked.headers["Retry-After"] == "901"
    assert locked.headers["Cache-Control"] == "no-store"
    assert secret_failures(app) == [("client_secret", "speaker-portal", "10.6.6.6")] * 20
    # The app's real client, at its own address, is not locked out.
    assert send(from_address(app, "10.0.0.2"), PORTAL_SECRET).status_code == GOOD_STATUS[endpoint]
    clock[0] += timedelta(seconds=901)
    assert send(guesser, PORTAL_SECRET).status_code == GOOD_STATUS[endpoint]


def test_attempts_while_the_client_is_locked_are_not_counted(
    app: Flask, api: Any, idp: Any, clock: list[datetime]
) -> None:
    send = SecretEndpoints(api, idp).exchange_in_the_body
    guesser = from_address(app, "10.6.6.6")
    for _ in range(20):
        send(guesser, "wrong")
    clock[0] += timedelta(seconds=600)
    for _ in range(5):
        assert send(guesser, "wrong").status_code == 429
    assert send(guesser, "wrong").headers["Retry-After"] == "301"
    assert len(secret_failures(app)) == 20


@pytest.mark.parametrize(
    "request_kind",
    [
        {"client_secret": None},  # the app requires one: refused, but nothing was guessed
        {"client_id": "someone-else", "client_secret": "wrong"},
    ],
    ids=["no secret", "unknown client"],
)
def test_only_a_wrong_secret_of_a_known_app_is_counted(
    app: Flask, api: Any, idp: Any, request_kind: dict[str, Any]
) -> None:
    for _ in range(21):
        assert api.exchange(idp.access_token(), **request_kind).status_code == 400
    assert secret_failures(app) == []
    assert api.exchange(idp.access_token()).status_code == 200


@pytest.mark.parametrize(
    "app", [{"CLIENT_SECRET_FAILURE_APP_LIMIT": 3}], indirect=True, ids=["app limit 3"]
)
def test_the_app_ceiling_for_client_secrets_holds_at_every_address(
    app: Flask, api: Any, idp: Any
) -> None:
    send = SecretEndpoints(api, idp).exchange_in_the_body
    for address in ("10.6.6.1", "10.6.6.2", "10.6.6.3"):
        assert send(from_address(app, address), "wrong").get_json() == WRONG_SECRET
    locked = send(from_address(app, "10.0.0.2"), PORTAL_SECRET)
    assert (locked.status_code, locked.get_json()) == (429, TOO_MANY)


@pytest.mark.parametrize(
    ("app", "counted", "locked_out"),
    [({}, "10.0.0.1", "198.51.100.2"), ({"TRUSTED_PROXIES": 1}, "203.0.113.66", None)],
    indirect=["app"],
    ids=["no proxy trusted", "one proxy trusted"],
)
def test_client_secret_failures_read_x_forwarded_for_only_behind_a_trusted_proxy(
    app: Flask, api: Any, idp: Any, counted: str, locked_out: str | None
) -> None:
    send = SecretEndpoints(api, idp).exchange_in_the_body
    for _ in range(20):
        send(from_address(app, "10.0.0.1", forwarded_for="203.0.113.66"), "wrong")
    assert {address for *_, address in secret_failures(app)} == {counted}
    # Another client behind the same socket address: locked unless the proxy is trusted.
    other = send(from_address(app, "10.0.0.1", forwarded_for="198.51.100.2"), PORTAL_SECRET)
    assert other.status_code == (429 if locked_out else 200)
