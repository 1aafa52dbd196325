"""The token exchange grant at POST /services/oauth2/token (contract §§1-2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from mock_sf import ids
from mock_sf.models import Account
from mock_sf.models import ConnectedApp
from mock_sf.models import Contact
from mock_sf.models import ExchangeAttempt
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import Organization
from mock_sf.models import User
from mock_sf.models import db

SECRET = "portal-sf-demo-secret"
RESPONSE_KEYS = [
    "access_token",
    "signature",
    "scope",
    "instance_url",
    "id",
    "token_type",
    "issued_at",
]
VALIDATION_FAILED = ("invalid_request", "token handler validation failed")
VALIDATION_FAILED_BODY = {"error": VALIDATION_FAILED[0], "error_description": VALIDATION_FAILED[1]}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(idp: Any) -> str:
    """The classic alg-confusion forgery: HMAC over the token keyed with the RSA public key PEM."""
    pem = idp.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(idp.access_token(), options={"verify_signature": False})
    header = b64url(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": idp.kid}).encode())
    payload = b64url(json.dumps(claims).encode())
    mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(mac)}"


def test_happy_path_returns_exactly_the_salesforce_token_response(
    app: Flask, api: Any, idp: Any
) -> None:
    response = api.exchange(idp.access_token())

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert list(body) == RESPONSE_KEYS
    with app.app_context():
        org_id = db.session.scalar(select(Organization.id))
        ada = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
        assert body["id"] == f"http://127.0.0.1:18002/id/{org_id}/{ada.id}"
    assert body["instance_url"] == "http://127.0.0.1:18002"
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "api"
    assert body["access_token"].startswith(org_id[:15] + "!")
    assert body["issued_at"].isdigit() and abs(int(body["issued_at"]) - time.time() * 1000) < 60_000
    expected = hmac.new(SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256)
    assert body["signature"] == base64.b64encode(expected.digest()).decode()


def test_signature_matches_the_contract_example() -> None:
    from mock_sf.oauth.token_exchange import signature

    identity = "https://MyDomainName.my.salesforce.com/id/00Dxxxxxxxxxxxx/005xxxxxxxxxxxx"
    assert signature("secret", identity, "1667600739962") == (
        "YTbEq0I7mEufZcoZGsPOKv7c+/M/DU8hz/FPmRwa1OI="
    )


def test_without_scope_all_app_scopes_are_granted_with_their_tokens(api: Any, idp: Any) -> None:
    body = api.exchange(idp.access_token(), scope=None).get_json()
    # The app has "api refresh_token openid": a refresh token and an ID token come with them.
    assert body["scope"] == "api openid refresh_token"
    assert list(body) == [
        "access_token",
        "refresh_token",
        "signature",
        "scope",
        "id_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ]


def test_the_access_token_is_stored_only_as_a_hash(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    with app.app_context():
        from mock_sf.models import OAuthToken

        stored = db.session.scalars(select(OAuthToken.token_hash)).all()
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert token not in stored


def test_first_exchange_creates_user_contact_and_account(app: Flask, api: Any, idp: Any) -> None:
    body = api.session_for(idp.GRACE_SUB)

    with app.app_context():
        grace = db.session.scalar(
            select(User).where(User.federation_identifier == f"{idp.ISSUER}|{idp.GRACE_SUB}")
        )
        assert grace is not None
        assert body["id"].endswith("/" + grace.id)
        assert (grace.username, grace.email) == ("grace@speakers.example",) * 2
        assert (grace.first_name, grace.last_name) == ("Grace", "Hopper")
        assert grace.user_type == "CspLitePortal" and grace.is_active
        contact = db.session.get(Contact, grace.contact_id)
        account = db.session.get(Account, contact.account_id)
        assert (contact.first_name, contact.last_name) == ("Grace", "Hopper")
        assert contact.email == "grace@speakers.example"
        assert account.name == "Compilers Inc"
        assert grace.account_id == account.id
        assert grace.id.startswith("005") and contact.id.startswith("003")
    # The access token carries no profile: the handler asked UserInfo, once.
    assert len(idp.userinfo_calls) == 1


def test_second_exchange_reuses_the_user(app: Flask, api: Any, idp: Any) -> None:
    first = api.session_for(idp.GRACE_SUB)
    second = api.session_for(idp.GRACE_SUB)
    assert first["id"] == second["id"]
    assert first["access_token"] != second["access_token"]
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 4  # admin, integration, Ada, Grace
        assert db.session.scalar(select(func.count(Contact.id))) == 2
    assert len(idp.userinfo_calls) == 1


def test_id_token_creates_the_user_from_its_own_claims(app: Flask, api: Any, idp: Any) -> None:
    response = api.exchange(idp.id_token(idp.GRACE_SUB), subject_token_type=idp.ID_TOKEN_TYPE)
    assert response.status_code == 200, response.get_json()
    assert idp.userinfo_calls == []


def test_company_defaults_to_the_speakers_name(app: Flask, api: Any, idp: Any) -> None:
    token = idp.id_token(idp.GRACE_SUB, company=None)
    assert api.exchange(token, subject_token_type=idp.ID_TOKEN_TYPE).status_code == 200
    with app.app_context():
        names = db.session.scalars(select(Account.name)).all()
    assert "Grace Hopper (Speaker)" in names


def test_an_existing_user_with_the_same_email_is_never_linked_silently(
    app: Flask, api: Any, idp: Any
) -> None:
    with app.app_context():
        db.session.add(
            User(
                username="grace@speakers.example",
                email="grace@speakers.example",
                last_name="Hopper",
                user_type="CspLitePortal",
            )
        )
        db.session.commit()
    response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert response.get_json() == {
        "error": "invalid_grant",
        "error_description": "authentication failure",
    }
    with app.app_context():
        unlinked = db.session.scalar(select(User).where(User.username == "grace@speakers.example"))
        assert unlinked.federation_identifier is None


def test_a_concurrent_first_exchange_leaves_exactly_one_user(
    app: Flask, api: Any, idp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another exchange committed Grace after our look-up missed her: the insert conflicts on
    FederationIdentifier, the exchange rolls back, runs again, and reuses her."""
    from mock_sf.handlers import jwt as jwt_handler
    from mock_sf.handlers import subjects

    assert api.exchange(idp.access_token(idp.GRACE_SUB)).status_code == 200  # the other exchange
    real = jwt_handler.JwtTokenExchangeHandler.get_user_for_token_subject
    calls = []

    def stale_lookup(self: Any, network_id: Any, result: Any, *args: Any) -> User | None:
        calls.append(1)
        if len(calls) == 1:  # as if the look-up ran before the other exchange committed
            fed_id = f"{result.data['iss']}|{result.data['sub']}"
            profile = idp.fetch_userinfo(f"{idp.ISSUER}/v1/userinfo", result.token)
            return subjects.new_speaker(fed_id, profile)
        return real(self, network_id, result, *args)

    monkeypatch.setattr(
        jwt_handler.JwtTokenExchangeHandler, "get_user_for_token_subject", stale_lookup
    )
    response = api.exchange(idp.access_token(idp.GRACE_SUB))

    assert response.status_code == 200, response.get_json()
    assert len(calls) == 2
    with app.app_context():
        graces = db.session.scalars(
            select(User.id).where(User.federation_identifier == f"{idp.ISSUER}|{idp.GRACE_SUB}")
        ).all()
        assert graces == [response.get_json()["id"].rsplit("/", 1)[1]]
        assert db.session.scalar(select(func.count(Contact.id))) == 2  # the loser's rolled back


def test_client_secret_via_http_basic_works(api: Any, idp: Any) -> None:
    basic = base64.b64encode(f"speaker-portal:{SECRET}".encode()).decode()
    response = api.exchange(
        idp.access_token(),
        headers={"Authorization": f"Basic {basic}"},
        client_id=None,
        client_secret=None,
    )
    assert response.status_code == 200, response.get_json()


def test_a_replayed_jti_is_refused(api: Any, idp: Any) -> None:
    token = idp.access_token()
    assert api.exchange(token).status_code == 200
    replay = api.exchange(token)
    assert replay.status_code == 400
    assert replay.get_json() == VALIDATION_FAILED_BODY


def test_an_id_token_with_a_jti_is_exchanged_once_and_one_without_until_it_expires(
    api: Any, idp: Any
) -> None:
    """Issue 10 finding 3: mock_idp's (and Okta's) ID tokens carry a jti, which the exchange
    spends; an IdP whose ID tokens have none (Google's) gets the 48 h lifetime cap only."""
    once = idp.id_token(jti="ID.single-use")
    spent = [api.exchange(once, subject_token_type=idp.ID_TOKEN_TYPE) for _ in range(2)]
    assert [r.status_code for r in spent] == [200, 400]
    assert spent[1].get_json() == VALIDATION_FAILED_BODY
    again = idp.id_token()
    assert [
        api.exchange(again, subject_token_type=idp.ID_TOKEN_TYPE).status_code for _ in range(2)
    ] == [200, 200]


def test_a_jti_refused_elsewhere_in_the_exchange_is_not_consumed(
    app: Flask, api: Any, idp: Any
) -> None:
    token = idp.access_token()
    assert api.exchange(token, scope="api full").status_code == 400  # scope check fails first
    assert api.exchange(token).status_code == 200


def test_the_precise_reason_is_logged_but_not_sent(app: Flask, api: Any, idp: Any) -> None:
    response = api.exchange(idp.access_token(aud="x"))
    assert response.get_json() == VALIDATION_FAILED_BODY
    with app.app_context():
        attempt = db.session.scalars(
            select(ExchangeAttempt).order_by(ExchangeAttempt.id.desc())
        ).first()
        assert attempt.outcome == "failure"
        assert attempt.error == "invalid_request"
        assert attempt.reason == "aud mismatch: expected api://default, got 'x'"
        assert attempt.handler == "SpeakerTokenHandler"
        assert attempt.token_type == idp.ACCESS_TOKEN_TYPE


def test_a_success_is_logged_with_the_user(app: Flask, api: Any, idp: Any) -> None:
    body = api.session_for(idp.ADA_SUB)
    with app.app_context():
        attempt = db.session.scalars(select(ExchangeAttempt)).one()
        assert (attempt.outcome, attempt.error) == ("success", None)
        assert body["id"].endswith(attempt.user_id)


def test_the_jwks_is_fetched_once_and_cached(api: Any, idp: Any) -> None:
    api.session_for(idp.ADA_SUB)
    api.session_for(idp.ADA_SUB)
    assert idp.jwks_fetches == 1


def test_an_unreachable_idp_fails_closed(app: Flask, api: Any, idp: Any) -> None:
    idp.reachable = False
    response = api.exchange(idp.access_token())
    assert response.get_json() == VALIDATION_FAILED_BODY
    with app.app_context():
        reason = db.session.scalars(select(ExchangeAttempt)).one().reason
    assert "could not be fetched" in str(reason)


OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

FOREIGN_JWKS = "http://127.0.0.1:9/jwks"


def jku_attack(idp: Any) -> str:
    """Signed with a key the ``jku`` URL really serves: accepted if ``jku`` were honoured."""
    idp.serve_jwks_elsewhere(FOREIGN_JWKS, OTHER_KEY, "attacker")
    return idp.access_token(key=OTHER_KEY, headers={"kid": "attacker", "jku": FOREIGN_JWKS})


# Each case builds the request from the fake IdP: (subject_token, form overrides, headers).
TokenCase = Callable[[Any], tuple[str, dict[str, Any], dict[str, str]]]
NEGATIVE: list[tuple[str, TokenCase, tuple[str, str]]] = [
    ("bad signature", lambda idp: (idp.access_token(key=OTHER_KEY), {}, {}), VALIDATION_FAILED),
    ("wrong aud", lambda idp: (idp.access_token(aud="api://other"), {}, {}), VALIDATION_FAILED),
    (
        "wrong iss",
        lambda idp: (idp.access_token(iss="http://127.0.0.1:18001/oauth2/other"), {}, {}),
        VALIDATION_FAILED,
    ),
    (
        "expired",
        lambda idp: (idp.access_token(exp=int(time.time()) - 120), {}, {}),
        VALIDATION_FAILED,
    ),
    (
        "nbf in the future",
        lambda idp: (idp.access_token(nbf=int(time.time()) + 600), {}, {}),
        VALIDATION_FAILED,
    ),
    (
        "iat in the future",
        lambda idp: (idp.access_token(iat=int(time.time()) + 600), {}, {}),
        VALIDATION_FAILED,
    ),
    (
        "alg none",
        lambda idp: (idp.access_token(key=None, algorithm="none"), {}, {}),
        VALIDATION_FAILED,
    ),
    (
        "HS256 with the public key",
        lambda idp: (hs256_with_public_key(idp), {}, {}),
        VALIDATION_FAILED,
    ),
    (
        "unknown kid",
        lambda idp: (idp.access_token(headers={"kid": "nope"}), {}, {}),
        VALIDATION_FAILED,
    ),
    (
        "kid missing",
        lambda idp: (idp.access_token(headers={"kid": None}), {}, {}),
        VALIDATION_FAILED,
    ),
    (
        "foreign jku is ignored",
        lambda idp: (jku_attack(idp), {}, {}),
        VALIDATION_FAILED,
    ),
    ("missing exp", lambda idp: (idp.access_token(drop=("exp",)), {}, {}), VALIDATION_FAILED),
    ("missing jti", lambda idp: (idp.access_token(drop=("jti",)), {}, {}), VALIDATION_FAILED),
    (
        "exp ten years ahead",  # issue 10, finding 5
        lambda idp: (idp.access_token(exp=int(time.time()) + 10 * 365 * 24 * 3600), {}, {}),
        VALIDATION_FAILED,
    ),
    (
        "access token of another client",  # issue 10, finding 4
        lambda idp: (idp.access_token(client_id="other-app", cid="other-app"), {}, {}),
        VALIDATION_FAILED,
    ),
    (
        "access token naming no client",
        lambda idp: (idp.access_token(drop=("client_id", "cid")), {}, {}),
        VALIDATION_FAILED,
    ),
    ("ID token as access token", lambda idp: (idp.id_token(), {}, {}), VALIDATION_FAILED),
    (
        "access token as ID token",
        lambda idp: (
            idp.access_token(aud="speaker-portal"),
            {"subject_token_type": idp.ID_TOKEN_TYPE},
            {},
        ),
        VALIDATION_FAILED,
    ),
    ("not a JWT", lambda idp: ("opaque-token", {}, {}), VALIDATION_FAILED),
    (
        "wrong client secret",
        lambda idp: (idp.access_token(), {"client_secret": "nope"}, {}),
        ("invalid_client", "invalid client credentials"),
    ),
    (
        "missing client secret",
        lambda idp: (idp.access_token(), {"client_secret": None}, {}),
        ("invalid_client", "invalid client credentials"),
    ),
    (
        "wrong secret via Basic",
        lambda idp: (
            idp.access_token(),
            {"client_id": None, "client_secret": None},
            {"Authorization": "Basic " + base64.b64encode(b"speaker-portal:nope").decode()},
        ),
        ("invalid_client", "invalid client credentials"),
    ),
    (
        "unknown client",
        lambda idp: (idp.access_token(), {"client_id": "someone-else"}, {}),
        ("invalid_client_id", "client identifier invalid"),
    ),
    (
        "missing client_id",
        lambda idp: (idp.access_token(), {"client_id": None}, {}),
        ("invalid_client_id", "client identifier invalid"),
    ),
    (
        "unknown token_handler",
        lambda idp: (idp.access_token(), {"token_handler": "NoSuchHandler"}, {}),
        ("invalid_request", "token handler not found"),
    ),
    (
        "unknown subject_token_type",
        lambda idp: (idp.access_token(), {"subject_token_type": "urn:example:nope"}, {}),
        ("invalid_request", "invalid subject token type"),
    ),
    (
        "subject token over 10,000 chars",
        lambda idp: ("a" * 10_001, {}, {}),
        ("invalid_grant", "authentication failure"),
    ),
    (
        "scope outside the app",
        lambda idp: (idp.access_token(), {"scope": "api web"}, {}),
        ("invalid_scope", "the requested scope is not allowed"),
    ),
    (
        "missing grant_type",
        lambda idp: (idp.access_token(), {"grant_type": None}, {}),
        ("invalid_request", "grant type is missing"),
    ),
    (
        "unknown grant_type",
        lambda idp: (idp.access_token(), {"grant_type": "password"}, {}),
        ("unsupported_grant_type", "grant type not supported"),
    ),
    (
        "missing subject_token",
        lambda idp: ("", {}, {}),
        ("invalid_request", "subject token is missing"),
    ),
    (
        "missing subject_token_type",
        lambda idp: (idp.access_token(), {"subject_token_type": None}, {}),
        ("invalid_request", "subject token type is missing"),
    ),
]


@pytest.mark.parametrize(
    ("build", "expected"),
    [pytest.param(build, expected, id=name) for name, build, expected in NEGATIVE],
)
def test_refused_exchanges(api: Any, idp: Any, build: TokenCase, expected: tuple[str, str]) -> None:
    subject_token, overrides, headers = build(idp)
    response = api.exchange(subject_token, headers=headers, **overrides)
    assert response.status_code == 400
    assert response.get_json() == {"error": expected[0], "error_description": expected[1]}
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert idp.fetched_elsewhere == []  # only the trusted issuer's jwks_uri is ever fetched


def _disable_exchange() -> None:
    db.session.scalar(select(ConnectedApp)).is_token_exchange_enabled = False


def _disable_user_creation() -> None:
    db.session.scalar(select(OauthTokenExchangeHandler)).is_user_creation_allowed = False


def _disable_handler() -> None:
    db.session.scalar(select(OauthTokenExchangeHandler)).is_enabled = False


def _unsupport_access_tokens() -> None:
    db.session.scalar(select(OauthTokenExchangeHandler)).supports_access_token = False


def _deactivate_ada() -> None:
    db.session.scalar(select(User).where(User.username == "ada@speakers.example")).is_active = False


@pytest.mark.parametrize(
    ("change", "sub", "expected"),
    [
        pytest.param(
            _disable_exchange,
            "ada",
            ("unsupported_grant_type", "grant type not supported"),
            id="exchange disabled",
        ),
        pytest.param(
            _disable_handler,
            "ada",
            ("invalid_request", "token handler not found"),
            id="handler disabled",
        ),
        pytest.param(
            _unsupport_access_tokens,
            "ada",
            ("invalid_request", "token handler not found"),
            id="token type the handler does not support",
        ),
        pytest.param(
            _disable_user_creation,
            "grace",
            ("invalid_grant", "authentication failure"),
            id="unknown subject, creation off",
        ),
        pytest.param(
            _deactivate_ada, "ada", ("invalid_grant", "inactive user"), id="inactive user"
        ),
    ],
)
def test_refused_by_org_configuration(
    app: Flask, api: Any, idp: Any, change: Callable[[], None], sub: str, expected: tuple[str, str]
) -> None:
    with app.app_context():
        change()
        db.session.commit()
    subject = idp.ADA_SUB if sub == "ada" else idp.GRACE_SUB
    response = api.exchange(idp.access_token(subject))
    assert response.status_code == 400
    assert response.get_json() == {"error": expected[0], "error_description": expected[1]}


def test_without_token_handler_the_apps_default_handler_runs(api: Any, idp: Any) -> None:
    assert api.exchange(idp.access_token(), token_handler=None).status_code == 200


@pytest.mark.parametrize(
    "name",
    [
        "SpeakerTokenHandler",
        "BuiltInTokenExchangeHandler",
        "mock_sf.handlers.composite:BuiltInTokenExchangeHandler",
    ],
)
def test_token_handler_accepts_developer_name_or_class(api: Any, idp: Any, name: str) -> None:
    assert api.exchange(idp.access_token(), token_handler=name).status_code == 200


@pytest.mark.parametrize("urn_suffix", ["JWT", "jwt"])
def test_the_jwt_token_type_is_accepted_in_both_spellings(
    api: Any, idp: Any, urn_suffix: str
) -> None:
    response = api.exchange(
        idp.access_token(), subject_token_type=f"urn:ietf:params:oauth:token-type:{urn_suffix}"
    )
    assert response.status_code == 200, response.get_json()


def test_unknown_parameters_are_ignored(api: Any, idp: Any) -> None:
    response = api.exchange(
        idp.access_token(), redirect_uri="http://127.0.0.1:8000/cb", audience="x", resource="y"
    )
    assert response.status_code == 200


def last_attempt(app: Flask) -> ExchangeAttempt:
    with app.app_context():
        return db.session.scalars(
            select(ExchangeAttempt).order_by(ExchangeAttempt.id.desc())
        ).first()


ACTOR_IGNORED = "actor_token ignored: Salesforce's token exchange has no delegation"
ACTOR_TYPE = "urn:ietf:params:oauth:token-type:access_token"


@pytest.mark.parametrize(
    "actor",
    [
        pytest.param({"actor_token": "<grace>", "actor_token_type": ACTOR_TYPE}, id="both"),
        pytest.param({"actor_token": "<grace>"}, id="actor_token alone"),
        pytest.param({"actor_token_type": ACTOR_TYPE}, id="actor_token_type alone"),
    ],
)
def test_an_actor_token_is_ignored_and_the_exchange_log_says_so(
    app: Flask, api: Any, idp: Any, actor: dict[str, str]
) -> None:
    """Issue 10: Salesforce documents no delegation (RFC 8693 §2.1 ``act``), so the token issued
    is the subject's alone, and the developer learns in Setup that the actor was not used."""
    grace = idp.access_token(idp.GRACE_SUB)
    sent = {name: grace if value == "<grace>" else value for name, value in actor.items()}
    response = api.exchange(idp.access_token(), **sent)
    assert response.status_code == 200, response.get_json()
    assert "act" not in response.get_json()
    attempt = last_attempt(app)
    assert response.get_json()["id"].endswith(attempt.user_id)  # Ada, the subject
    assert (attempt.outcome, attempt.reason) == ("success", ACTOR_IGNORED)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(User).where(User.email == "grace@speakers.example")
            )
            == 0
        )  # nothing is done on the actor's behalf, not even a just-in-time user


def test_an_ignored_actor_token_is_noted_after_the_reason_of_a_refusal(
    app: Flask, api: Any, idp: Any
) -> None:
    response = api.exchange(idp.access_token(aud="x"), actor_token="a", actor_token_type=ACTOR_TYPE)
    assert response.get_json() == VALIDATION_FAILED_BODY
    assert last_attempt(app).reason == (
        f"aud mismatch: expected api://default, got 'x'; {ACTOR_IGNORED}"
    )


def test_without_an_actor_token_the_log_has_no_note(app: Flask, api: Any, idp: Any) -> None:
    api.session_for(idp.ADA_SUB)
    assert last_attempt(app).reason is None


def test_the_setup_log_shows_the_user_and_the_note(
    app: Flask, api: Any, idp: Any, setup_admin: Any
) -> None:
    api.exchange(idp.access_token(), actor_token="a", actor_token_type=ACTOR_TYPE)
    page = setup_admin.client.get("/setup/log").get_data(as_text=True)
    user_id = last_attempt(app).user_id
    assert f"user {user_id}; actor_token ignored: Salesforce&#39;s token exchange" in page


def test_get_on_the_token_endpoint_is_an_oauth_error(client: Any) -> None:
    response = client.get("/services/oauth2/token")
    assert response.status_code == 405
    assert response.get_json() == {
        "error": "invalid_request",
        "error_description": "must use HTTP POST",
    }
    assert "POST" in response.headers["Allow"].split(", ")


def test_issued_ids_are_valid_18_char_ids(api: Any, idp: Any) -> None:
    org_id, user_id = api.session_for(idp.ADA_SUB)["id"].rsplit("/", 2)[1:]
    assert ids.normalize(org_id, "00D") == org_id
    assert ids.normalize(user_id, "005") == user_id
