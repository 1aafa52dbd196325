"""The Python mirror of the Apex SpeakerTokenHandler: it agrees with the built-in JWT handler on
every JWT case of the security checklist §4a, creates the speaker's Account and Contact itself as
the Run As user, and names the same steps, in the same order, as the .cls it mirrors."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask
from sqlalchemy import select

from mock_sf.handlers import handler_context
from mock_sf.handlers.apex_mirror import STEPS
from mock_sf.handlers.apex_mirror import SpeakerTokenHandler
from mock_sf.handlers.base import IntegratingAppType
from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.jwt import JwtTokenExchangeHandler
from mock_sf.handlers.registration import parse_entry
from mock_sf.handlers.registration import register
from mock_sf.models import Account
from mock_sf.models import ConnectedApp
from mock_sf.models import ExchangeAttempt
from mock_sf.models import OauthTokenExchHandlerApp
from mock_sf.models import PermissionSet
from mock_sf.models import PermissionSetAssignment
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.setup import scorecard
from tests.mock_sf.forge import VARIANTS
from tests.mock_sf.forge import FakeForge

ROOT = Path(__file__).resolve().parents[2]
APEX_CLASS = ROOT / "salesforce/force-app/main/default/classes/SpeakerTokenHandler.cls"
MIRROR = ROOT / "mock_sf/handlers/apex_mirror.py"
MIRROR_CLASS = "mock_sf.handlers.apex_mirror:SpeakerTokenHandler"
INTEGRATION = "integration@sf.example"
AUTHENTICATION_FAILURE = {"error": "invalid_grant", "error_description": "authentication failure"}
TYPES = {
    "access_token": TokenExchangeType.ACCESS_TOKEN,
    "id_token": TokenExchangeType.ID_TOKEN,
    "jwt": TokenExchangeType.JWT,
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def resigned_header(idp: Any, token: str, **header: Any) -> str:
    """The token with extra header parameters (kept signed: these must be ignored or refused)."""
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return idp.access_token(headers=header, **claims)


NOT_JSON_HEADER = b64(json.dumps({"alg": "RS256", "typ": "at+jwt", "kid": "test-key-1"}).encode())

# Checklist §4a rows 1-11 beyond the forge's variants: (name, row, (idp, forge) -> token, type).
Case = Callable[[Any, FakeForge], tuple[str, TokenExchangeType]]
EXTRA_CASES: list[tuple[str, int, Case]] = [
    ("jwe_shaped", 1, lambda idp, f: ("a.b.c.d.e", TokenExchangeType.ACCESS_TOKEN)),
    (
        "foreign_jku_is_ignored",
        3,
        lambda idp, f: (
            idp.access_token(headers={"jku": "https://evil.example/keys"}),
            TokenExchangeType.ACCESS_TOKEN,
        ),
    ),
    (
        "embedded_jwk_is_ignored",
        3,
        lambda idp, f: (
            idp.access_token(headers={"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}),
            TokenExchangeType.ACCESS_TOKEN,
        ),
    ),
    (
        "kid_missing",
        3,
        lambda idp, f: (idp.access_token(headers={"kid": None}), TokenExchangeType.ACCESS_TOKEN),
    ),
    (
        "iat_in_future",
        7,
        lambda idp, f: (
            idp.access_token(iat=int(time.time()) + 3600),
            TokenExchangeType.ACCESS_TOKEN,
        ),
    ),
    (
        "missing_sub",
        7,
        lambda idp, f: (idp.access_token(drop=("sub",)), TokenExchangeType.ACCESS_TOKEN),
    ),
    (
        "missing_aud",
        6,
        lambda idp, f: (idp.access_token(drop=("aud",)), TokenExchangeType.ACCESS_TOKEN),
    ),
    (
        "aud_list_with_the_expected_value",
        6,
        lambda idp, f: (
            idp.access_token(aud=["urn:other", "api://default"]),
            TokenExchangeType.ACCESS_TOKEN,
        ),
    ),
    (
        "jti_missing",
        8,
        lambda idp, f: (idp.access_token(drop=("jti",)), TokenExchangeType.ACCESS_TOKEN),
    ),
    (
        "typ_jwt_as_access_token",
        9,
        lambda idp, f: (
            idp.access_token(headers={"typ": "JWT"}),
            TokenExchangeType.ACCESS_TOKEN,
        ),
    ),
    (
        "access_token_as_id_token",
        9,
        lambda idp, f: (idp.access_token(aud="speaker-portal"), TokenExchangeType.ID_TOKEN),
    ),
    (
        "payload_not_json",
        11,
        lambda idp, f: (
            f"{NOT_JSON_HEADER}.{b64(b'not json')}.x",
            TokenExchangeType.ACCESS_TOKEN,
        ),
    ),
    ("not_base64url", 11, lambda idp, f: ("%%%.%%%.%%%", TokenExchangeType.ACCESS_TOKEN)),
    (
        "lifetime_just_under_48_hours",
        7,
        lambda idp, f: (
            idp.access_token(exp=int(time.time()) + 47 * 3600),
            TokenExchangeType.ACCESS_TOKEN,
        ),
    ),
    (
        "okta_cid_of_the_portal_without_client_id",
        6,
        lambda idp, f: (
            idp.access_token(client_id=None, cid="speaker-portal"),
            TokenExchangeType.ACCESS_TOKEN,
        ),
    ),
    (
        "no_client_claim_at_all",
        6,
        lambda idp, f: (
            idp.access_token(drop=("client_id", "cid")),
            TokenExchangeType.ACCESS_TOKEN,
        ),
    ),
    (
        "id_token_of_another_client_is_an_audience_question",
        6,
        lambda idp, f: (idp.id_token(aud="another-client"), TokenExchangeType.ID_TOKEN),
    ),
]


def forge_cases() -> list[tuple[str, Case]]:
    """The forge's JWT variants (the platform, not a handler, refuses the oversized one)."""
    return [
        (
            f"{kind}/{name}",
            lambda idp, f, kind=kind, name=name: (f.mint(kind, name, None), TYPES[kind]),
        )
        for kind, name, check in VARIANTS
        if check != "size_limit"
    ]


ALL_CASES = forge_cases() + [(name, case) for name, _row, case in EXTRA_CASES]


def verdict(handler: Any, token: str, token_type: TokenExchangeType) -> tuple[bool, str | None]:
    """(valid, failed check) from validate_incoming_token."""
    result = handler.validate_incoming_token(
        "SpeakerPortal", IntegratingAppType.CA, token, token_type
    )
    return result.is_valid, result.check


@pytest.mark.parametrize(("name", "case"), ALL_CASES, ids=[name for name, _ in ALL_CASES])
def test_the_mirror_and_the_built_in_handler_agree(
    app: Flask, idp: Any, name: str, case: Case
) -> None:
    token, token_type = case(idp, FakeForge(idp))
    verdicts = []
    with app.app_context():
        for cls in (JwtTokenExchangeHandler, SpeakerTokenHandler):
            handler = cls(handler_context())
            verdicts.append(verdict(handler, token, token_type))
            db.session.rollback()  # each handler sees the same, unseen jti
    built_in, mirror = verdicts
    assert mirror == built_in
    expected = next((check for kind, variant, check in VARIANTS if f"{kind}/{variant}" == name), 0)
    if expected != 0:  # a forge variant: both reject it by the check the forge names
        assert built_in == (expected is None, expected)


def test_both_refuse_a_replayed_jti(app: Flask, idp: Any) -> None:
    token = idp.access_token()
    with app.app_context():
        for cls in (JwtTokenExchangeHandler, SpeakerTokenHandler):
            handler = cls(handler_context())
            first = verdict(handler, token, TokenExchangeType.ACCESS_TOKEN)
            second = verdict(handler, token, TokenExchangeType.ACCESS_TOKEN)
            assert (first, second) == ((True, None), (False, "replay"))
            db.session.rollback()


def test_both_map_by_federation_identifier_never_by_email(app: Flask, idp: Any) -> None:
    """Checklist row 10: Ada by (iss, sub); an unlinked Grace with the same email is not found."""
    with app.app_context():
        db.session.add(
            User(username="grace@speakers.example", email="grace@speakers.example", last_name="H")
        )
        db.session.flush()
        for cls in (JwtTokenExchangeHandler, SpeakerTokenHandler):
            handler = cls(handler_context())
            mapped = []
            for sub in (idp.ADA_SUB, idp.GRACE_SUB):
                token = idp.access_token(sub)
                result = handler.validate_incoming_token(
                    "SpeakerPortal", IntegratingAppType.CA, token, TokenExchangeType.ACCESS_TOKEN
                )
                user = handler.get_user_for_token_subject(
                    None, result, False, "SpeakerPortal", IntegratingAppType.CA
                )
                mapped.append(user.username if user else None)
            assert mapped == ["ada@speakers.example", None]
        db.session.rollback()


@pytest.mark.parametrize("handler", ["SpeakerTokenHandler", "SpeakerApexMirror"])
def test_neither_creates_a_user_for_an_unverified_email(
    app: Flask, api: Any, idp: Any, mirror: str, handler: str
) -> None:
    """Issue 10 finding 2, in the handler people deploy as in the built-in one."""
    response = api.exchange(
        idp.id_token(idp.GRACE_SUB, email_verified=False),
        subject_token_type=idp.ID_TOKEN_TYPE,
        token_handler=handler,
    )
    assert (response.status_code, response.get_json()) == (400, AUTHENTICATION_FAILURE)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "grace@speakers.example")) is None
        assert db.session.scalar(select(Account).where(Account.name == "Compilers Inc")) is None
        attempt = db.session.scalars(select(ExchangeAttempt)).one()
        assert (attempt.outcome, attempt.handler) == ("failure", handler)


@pytest.fixture
def mirror(app: Flask) -> str:
    """The mirror registered as the app's default handler, run as the integration user."""
    with app.app_context():
        register(
            parse_entry(
                {
                    "developer_name": "SpeakerApexMirror",
                    "class": MIRROR_CLASS,
                    "token_types": ["access_token", "id_token", "jwt"],
                    "user_creation_allowed": True,
                    "apps": [{"app": "SpeakerPortal", "default": True, "run_as": INTEGRATION}],
                }
            )
        )
        db.session.commit()
    return "SpeakerApexMirror"


def test_the_scorecard_gives_the_mirror_the_built_in_handlers_verdicts(
    app: Flask, idp: Any, forge: FakeForge, mirror: str
) -> None:
    with app.app_context():
        portal = db.session.scalar(select(ConnectedApp))
        rows = {}
        for handler in ("SpeakerTokenHandler", mirror):
            for link in db.session.scalars(select(OauthTokenExchHandlerApp)):
                link.is_default = link.handler.developer_name == handler
            db.session.commit()
            card = scorecard.run(
                app.extensions["mock_sf.forge"],
                portal,
                handler_context(),
                audiences=scorecard.forge_audiences(app.config),
            )
            rows[handler] = [(row.variant.variant, row.status, row.verdict) for row in card.rows]
            assert {row.handler for row in card.rows} == {handler, "token endpoint"}
    assert rows[mirror] == rows["SpeakerTokenHandler"]
    assert {status for _, status, _ in rows[mirror]} == {"pass"}


def test_the_mirror_inserts_account_and_contact_as_the_run_as_user(
    app: Flask, api: Any, idp: Any, mirror: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=app.logger.name)
    response = api.exchange(idp.access_token(idp.GRACE_SUB), token_handler=mirror)
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        integration = db.session.scalar(
            select(User).where(User.username == "integration@sf.example")
        )
        grace = db.session.scalar(select(User).where(User.username == "grace@speakers.example"))
        assert grace.federation_identifier == f"{idp.ISSUER}|{idp.GRACE_SUB}"
        assert grace.account_id == grace.contact.account_id  # follows the contact
        assert grace.account.name == "Compilers Inc"
        owners = {
            (grace.created_by_id,),
            (grace.contact.owner_id, grace.contact.created_by_id),
            (grace.account.owner_id, grace.account.created_by_id),
        }
        assert owners == {(integration.id,), (integration.id, integration.id)}
        assert grace.profile.name == "Speaker Community User"
        attempt = db.session.scalars(select(ExchangeAttempt)).one()
        assert (attempt.outcome, attempt.handler) == ("success", mirror)
        # The @future ran after the commit, in its own transaction: the assignment exists.
        assigned = db.session.scalars(
            select(PermissionSet.name).where(
                PermissionSetAssignment.assignee_id == grace.id,
                PermissionSetAssignment.permission_set_id == PermissionSet.id,
            )
        ).all()
        assert assigned == ["Speaker_API_Access"]
    future = f"@future: permission set Speaker_API_Access for grace@speakers.example ({grace.id})"
    assert future in caplog.text


def test_the_mirror_without_a_run_as_user_cannot_insert(
    app: Flask, api: Any, idp: Any, mirror: str, caplog: pytest.LogCaptureFixture
) -> None:
    with app.app_context():
        link = db.session.scalar(
            select(OauthTokenExchHandlerApp).where(OauthTokenExchHandlerApp.is_default)
        )
        link.run_as_user_id = None
        db.session.commit()
    caplog.set_level(logging.INFO, logger=app.logger.name)
    response = api.exchange(idp.access_token(idp.GRACE_SUB), token_handler=mirror)
    assert (response.status_code, response.get_json()) == (400, AUTHENTICATION_FAILURE)
    with app.app_context():
        attempt = db.session.scalars(select(ExchangeAttempt)).one()
        assert attempt.reason == (
            "no Run As user is set for handler SpeakerApexMirror on app SpeakerPortal; user"
            " creation needs one (Setup: the handler's enabled app)"
        )
    assert "@future" not in caplog.text  # a rolled-back exchange runs none


def test_a_refused_exchange_drops_the_mirrors_future_and_its_records(
    app: Flask, api: Any, idp: Any, mirror: str, caplog: pytest.LogCaptureFixture
) -> None:
    with app.app_context():
        db.session.add(
            User(username="grace@speakers.example", email="grace@speakers.example", last_name="H")
        )
        db.session.commit()
    caplog.set_level(logging.INFO, logger=app.logger.name)
    response = api.exchange(idp.access_token(idp.GRACE_SUB), token_handler=mirror)
    assert (response.status_code, response.get_json()) == (400, AUTHENTICATION_FAILURE)
    with app.app_context():
        assert db.session.scalar(select(Account).where(Account.name == "Compilers Inc")) is None
    assert "@future" not in caplog.text


def step_names(path: Path, marker: str) -> list[str]:
    return re.findall(rf"^\s*{re.escape(marker)} step: (.+?)\s*$", path.read_text(), re.M)


def test_the_mirror_and_the_apex_class_name_the_same_steps_in_order() -> None:
    assert step_names(MIRROR, "#") == list(STEPS)
    assert step_names(APEX_CLASS, "//") == list(STEPS)


def test_the_apex_tests_sign_with_the_key_their_jwks_publishes() -> None:
    """The throwaway test key pair in SpeakerTokenHandlerTest.cls is a pair (DEV/TEST ONLY)."""
    text = APEX_CLASS.with_name("SpeakerTokenHandlerTest.cls").read_text()

    def literal(name: str) -> str:
        match = re.search(rf"static final String {name} =\n(.*?);", text, re.S)
        assert match, name
        return "".join(re.findall(r"'([^']*)'", match.group(1)))

    key = serialization.load_der_private_key(base64.b64decode(literal("PRIVATE_KEY")), None)
    modulus = int.from_bytes(base64.urlsafe_b64decode(literal("MODULUS") + "=="), "big")
    assert key.public_key().public_numbers().n == modulus  # type: ignore[union-attr]


def test_setup_offers_the_mirror_as_a_built_in_class(setup_admin: Any) -> None:
    page = setup_admin.client.get("/setup/handlers/new").get_data(as_text=True)
    assert f'<option value="{MIRROR_CLASS}">' in page
