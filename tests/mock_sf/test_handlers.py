"""Handler plumbing: registry by import path, custom handlers, the JWKS cache."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mock_sf.handlers.base import TokenExchangeHandler
from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.jwks import JwksCache
from mock_sf.handlers.registry import HandlerLoadError
from mock_sf.handlers.registry import load_handler_class
from mock_sf.models import ConnectedApp
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import OauthTokenExchHandlerApp
from mock_sf.models import db

CUSTOM_HANDLER = '''
from mock_sf.handlers.base import TokenExchangeHandler, TokenValidationResult, UserData
from mock_sf.models import User, db
from sqlalchemy import select


class StaticTokenHandler(TokenExchangeHandler):
    """Accepts the opaque token 'let-ada-in' and maps it to Ada; refuses others with a message."""

    def validate_incoming_token(self, app_developer_name, app_type, incoming_token, token_type):
        if incoming_token != "let-ada-in":
            return TokenValidationResult(False, custom_error_msg="speaker badge not recognised")
        return TokenValidationResult(True, user_data=UserData(identifier="ada"))

    def get_user_for_token_subject(self, network_id, result, can_create_user, app_dev, app_type):
        return db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
'''


@pytest.fixture
def custom_handler(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Write a handler module, register it by import path and enable it for SpeakerPortal."""
    module = f"custom_handler_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(CUSTOM_HANDLER))
    monkeypatch.syspath_prepend(str(tmp_path))
    with app.app_context():
        handler = OauthTokenExchangeHandler(
            developer_name="BadgeHandler",
            master_label="Badge handler",
            handler_class=f"{module}:StaticTokenHandler",
            is_enabled=True,
            supports_access_token=True,
        )
        portal = db.session.scalar(select(ConnectedApp))
        db.session.add(OauthTokenExchHandlerApp(handler=handler, app=portal))
        db.session.commit()
    return module


def test_registry_loads_a_custom_handler_by_import_path(custom_handler: str) -> None:
    cls = load_handler_class(f"{custom_handler}:StaticTokenHandler")
    assert issubclass(cls, TokenExchangeHandler)
    assert cls.__name__ == "StaticTokenHandler"


def test_a_custom_handler_runs_when_named(api: Any, custom_handler: str) -> None:
    response = api.exchange("let-ada-in", token_handler="BadgeHandler")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["scope"] == "api"


def test_custom_error_msg_reaches_the_client(api: Any, custom_handler: str) -> None:
    response = api.exchange("forged", token_handler="StaticTokenHandler")
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid_request",
        "error_description": "speaker badge not recognised",
    }


@pytest.mark.parametrize(
    "path", ["no_colon_here", "mock_sf.no_such_module:Handler", "mock_sf.models:User", ":X"]
)
def test_registry_refuses_what_is_not_a_handler(path: str) -> None:
    with pytest.raises(HandlerLoadError):
        load_handler_class(path)


def test_a_broken_import_path_is_handler_not_found(app: Flask, api: Any, idp: Any) -> None:
    with app.app_context():
        db.session.scalar(select(OauthTokenExchangeHandler)).handler_class = "nope:Nope"
        db.session.commit()
    response = api.exchange(idp.access_token())
    assert response.get_json() == {
        "error": "invalid_request",
        "error_description": "token handler not found",
    }


def test_token_type_urns() -> None:
    assert (
        TokenExchangeType.from_urn("urn:ietf:params:oauth:token-type:jwt") is TokenExchangeType.JWT
    )
    assert (
        TokenExchangeType.from_urn("urn:ietf:params:oauth:token-type:JWT") is TokenExchangeType.JWT
    )
    assert (
        TokenExchangeType.from_urn("urn:ietf:params:oauth:token-type:saml2")
        is TokenExchangeType.SAML_2
    )
    assert TokenExchangeType.from_urn("urn:ietf:params:oauth:token-type:id_token") is (
        TokenExchangeType.ID_TOKEN
    )
    assert TokenExchangeType.from_urn("urn:ietf:params:oauth:token-type:JWTX") is None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache_with(idp: Any, clock: Clock) -> JwksCache:
    return JwksCache(idp.fetch_jwks, clock=clock)


def test_jwks_cache_refetches_an_unknown_kid_at_most_every_30_seconds(idp: Any) -> None:
    clock = Clock()
    cache = cache_with(idp, clock)
    uri = f"{idp.ISSUER}/v1/keys"
    assert cache.get_key(uri, idp.kid) is not None
    assert cache.get_key(uri, "rotated") is None  # within cooldown: no refetch
    assert idp.jwks_fetches == 1
    clock.now += 30
    idp.kid = "rotated"  # the IdP rotated its key
    assert cache.get_key(uri, "rotated") is not None
    assert idp.jwks_fetches == 2


def test_jwks_cache_expires_after_300_seconds_and_fails_closed(idp: Any) -> None:
    clock = Clock()
    cache = cache_with(idp, clock)
    uri = f"{idp.ISSUER}/v1/keys"
    assert cache.get_key(uri, idp.kid) is not None
    clock.now += 299
    assert cache.get_key(uri, idp.kid) is not None
    assert idp.jwks_fetches == 1
    clock.now += 1
    idp.reachable = False
    assert cache.get_key(uri, idp.kid) is None  # stale keys are not used
    assert idp.jwks_fetches == 2


def test_a_key_missing_because_the_jwks_was_unreachable_says_so(idp: Any) -> None:
    """The exchange log names an unreachable IdP, not a token with a wrong kid (issue 10)."""
    cache = cache_with(idp, Clock())
    uri = f"{idp.ISSUER}/v1/keys"
    idp.reachable = False
    assert cache.get_key(uri, idp.kid) is None
    reason = cache.unknown_kid_reason(uri, idp.kid)
    assert reason.startswith(f"no key for kid {idp.kid!r}: the JWKS at {uri} could not be fetched")
    idp.reachable = True
    cache.clock.now += 30  # type: ignore[attr-defined]
    assert cache.get_key(uri, "rotated") is None  # fetched fine: this kid is simply not there
    assert cache.unknown_kid_reason(uri, "rotated") == f"unknown kid 'rotated' (not in {uri})"
