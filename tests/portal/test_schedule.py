"""The schedule API takes the IdP access token as it is (RFC 6750, RFC 9068); the page calls it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from requests.adapters import BaseAdapter
from sqlalchemy import update

from portal import schedule
from portal.models import LoginSession
from portal.models import db

PORTAL_URL = "http://portal.test"
ISSUER = "http://idp.test/oauth2/default"
JWKS_URI = f"{ISSUER}/v1/keys"
DISCOVERY = f"{ISSUER}/.well-known/openid-configuration"
API = "/api/schedule"
ADA = "00u1ada1demo1speaker"
GRACE = "00u1grace1demo1spkr0"
SCOPES = ["openid", "profile", "email", "offline_access", "schedule.read"]
NOTE = (
    "This page calls the platform's schedule API with your identity provider access token as it "
    "is. No token exchange is involved: only Salesforce needs one."
)
DROP = object()  # a claim or header parameter to leave out


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(schedule.service.verifier.keys, "clock", fake)
    return fake


class Tokens:
    """Mints access tokens as the IdP does (RS256, typ at+jwt, kid k1), with overrides."""

    def __init__(self, key: rsa.RSAPrivateKey, other: rsa.RSAPrivateKey) -> None:
        self.key = key
        self.other = other  # a key the IdP does not publish

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": ADA,
            "aud": "api://default",
            "exp": now + 3600,
            "iat": now,
            "jti": "AT.test",
            "client_id": "speaker-portal",
            "cid": "speaker-portal",
            "uid": ADA,
            "scp": SCOPES,
            **overrides,
        }
        return {name: value for name, value in claims.items() if value is not DROP}

    def header(self, **overrides: Any) -> dict[str, Any]:
        header = {"typ": "at+jwt", "kid": "k1", **overrides}
        return {name: value for name, value in header.items() if value is not DROP}

    def access(
        self, *, header: dict[str, Any] | None = None, key: Any = None, **claims: Any
    ) -> str:
        return jwt.encode(
            self.claims(**claims),
            key or self.key,
            algorithm="RS256",
            headers=self.header(**(header or {})),
        )

    def unsigned(self) -> str:
        return jwt.encode(self.claims(), None, algorithm="none", headers=self.header())

    def hs256_with_public_key(self) -> str:
        """The classic confusion: HMAC keyed with the RSA public key's PEM (PyJWT won't mint it)."""
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        parts = [
            b64url(json.dumps({"alg": "HS256", **self.header()}).encode()),
            b64url(json.dumps(self.claims()).encode()),
        ]
        signing_input = ".".join(parts).encode()
        return ".".join([*parts, b64url(hmac.new(pem, signing_input, hashlib.sha256).digest())])


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def tokens(idp_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> Tokens:
    return Tokens(idp_key, other_key)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge(error: str, description: str) -> str:
    return f'Bearer realm="schedule", error="{error}", error_description="{description}"'


def now() -> int:
    return int(time.time())


BAD_TOKEN = "invalid_token"
NEGATIVE: dict[str, tuple[Callable[[Tokens], dict[str, str]], int, str | None, str]] = {
    "no Authorization header": (lambda t: {}, 401, None, 'Bearer realm="schedule"'),
    "Basic, not Bearer": (
        lambda t: {"Authorization": "Basic YWRhOmFkYS1kZW1v"},
        401,
        None,
        'Bearer realm="schedule"',
    ),
    "Bearer without a token": (
        lambda t: {"Authorization": "Bearer "},
        400,
        "invalid_request",
        challenge("invalid_request", "The Authorization header must be: Bearer <access token>."),
    ),
    "not a JWT": (
        lambda t: bearer("an-opaque-token"),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token is not a JWT."),
    ),
    "alg none": (
        lambda t: bearer(t.unsigned()),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token's signing algorithm is not accepted."),
    ),
    "HS256 keyed with the public key": (
        lambda t: bearer(t.hs256_with_public_key()),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token's signing algorithm is not accepted."),
    ),
    "signed by another key, with a jku to its JWKS": (
        lambda t: bearer(t.access(key=t.other, header={"jku": "http://evil.test/keys"})),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token's signature does not verify."),
    ),
    "no kid": (
        lambda t: bearer(t.access(header={"kid": DROP})),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token names no signing key (kid)."),
    ),
    "another issuer": (
        lambda t: bearer(t.access(iss="http://idp.test/oauth2/other")),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token is not from the trusted issuer (iss)."),
    ),
    "an issuer that is a prefix of ours": (
        lambda t: bearer(t.access(iss="http://idp.test/oauth2")),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token is not from the trusted issuer (iss)."),
    ),
    "another audience": (
        lambda t: bearer(t.access(aud="api://other")),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token is not meant for this API (aud)."),
    ),
    "the portal as audience (an ID token's)": (
        lambda t: bearer(t.access(aud="speaker-portal")),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token is not meant for this API (aud)."),
    ),
    "expired beyond the leeway": (
        lambda t: bearer(t.access(exp=now() - 61, iat=now() - 3661)),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token has expired."),
    ),
    "no exp": (
        lambda t: bearer(t.access(exp=DROP)),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token lacks the exp claim."),
    ),
    "no iat": (
        lambda t: bearer(t.access(iat=DROP)),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token lacks the iat claim."),
    ),
    "issued in the future": (
        lambda t: bearer(t.access(iat=now() + 600)),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token is not valid yet."),
    ),
    "not before the future": (
        lambda t: bearer(t.access(nbf=now() + 600)),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The access token is not valid yet."),
    ),
    "no typ": (
        lambda t: bearer(t.access(header={"typ": None})),  # PyJWT leaves out a None typ
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The token is not an access token (typ at+jwt)."),
    ),
    "typ JWT: an ID token": (
        lambda t: bearer(t.access(header={"typ": "JWT"})),
        401,
        BAD_TOKEN,
        challenge(BAD_TOKEN, "The token is not an access token (typ at+jwt)."),
    ),
    "no schedule.read in scp": (
        lambda t: bearer(t.access(scp=["openid", "profile", "email"])),
        403,
        "insufficient_scope",
        challenge("insufficient_scope", "The access token lacks the schedule.read scope.")
        + ', scope="schedule.read"',
    ),
    "no scope claim at all": (
        lambda t: bearer(t.access(scp=DROP)),
        403,
        "insufficient_scope",
        challenge("insufficient_scope", "The access token lacks the schedule.read scope.")
        + ', scope="schedule.read"',
    ),
}


@pytest.mark.parametrize(
    ("make", "status", "error", "www_authenticate"), NEGATIVE.values(), ids=NEGATIVE
)
def test_refusals_on_the_wire(client, idp, tokens, make, status, error, www_authenticate):
    response = client.get(API, headers=make(tokens))
    assert response.status_code == status
    assert response.headers["WWW-Authenticate"] == www_authenticate
    assert response.headers["Cache-Control"] == "no-store"
    if error is None:  # RFC 6750 §3.1: no error code when the request has no token
        assert response.data == b""
    else:
        description = www_authenticate.split('error_description="')[1].split('"')[0]
        assert response.json == {"error": error, "error_description": description}


def test_keys_unavailable_is_503_and_no_token_passes(client, transport, tokens):
    transport.route("GET", DISCOVERY, (200, {"issuer": ISSUER, "jwks_uri": JWKS_URI}))
    transport.route("GET", JWKS_URI, requests.ConnectionError("connection refused"))
    response = client.get(API, headers=bearer(tokens.access()))
    assert response.status_code == 503
    assert response.json == {
        "error": "temporarily_unavailable",
        "error_description": "The identity provider's keys are unavailable; try again later.",
    }
    assert "WWW-Authenticate" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "discovery",
    [
        requests.Timeout("read timed out"),
        (500, "<h1>Internal Server Error</h1>"),
        (200, {"issuer": "http://idp.test/oauth2/other", "jwks_uri": JWKS_URI}),
        (200, {"issuer": ISSUER}),
    ],
    ids=["timeout", "HTTP 500", "another issuer's discovery", "no jwks_uri"],
)
def test_discovery_failures_fail_closed(client, transport, tokens, idp_key, discovery):
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(idp_key.public_key(), as_dict=True)
    transport.route("GET", DISCOVERY, discovery)
    transport.route("GET", JWKS_URI, (200, {"keys": [{**jwk, "kid": "k1"}]}))
    response = client.get(API, headers=bearer(tokens.access()))
    assert (response.status_code, response.json["error"]) == (503, "temporarily_unavailable")


def test_keys_come_back_after_an_outage(client, transport, idp, tokens):
    keys = idp.routes[("GET", JWKS_URI)][0]
    idp.route("GET", JWKS_URI, (502, "<h1>Bad Gateway</h1>"), keys)
    assert client.get(API, headers=bearer(tokens.access())).status_code == 503
    assert client.get(API, headers=bearer(tokens.access())).status_code == 200


def test_unknown_kid_refetches_the_keys_once_per_cooldown(client, idp, tokens, clock):
    assert client.get(API, headers=bearer(tokens.access())).status_code == 200
    assert len(idp.calls("GET", JWKS_URI)) == 1
    clock.advance(31)

    refused = client.get(API, headers=bearer(tokens.access(header={"kid": "k2"})))
    assert refused.status_code == 401
    assert refused.json == {
        "error": "invalid_token",
        "error_description": "The access token is signed by an unknown key.",
    }
    assert len(idp.calls("GET", JWKS_URI)) == 2  # refetched once: keys rotate

    clock.advance(29)
    again = client.get(API, headers=bearer(tokens.access(header={"kid": "k3"})))
    assert again.status_code == 401
    assert len(idp.calls("GET", JWKS_URI)) == 2  # within the cooldown: no fetch
    assert len(idp.calls("GET", DISCOVERY)) == 1  # the jwks_uri is kept once found


def test_a_rotated_key_is_picked_up_by_the_refetch(client, idp, tokens, clock):
    assert client.get(API, headers=bearer(tokens.access())).status_code == 200
    new = jwt.algorithms.RSAAlgorithm.to_jwk(tokens.other.public_key(), as_dict=True)
    idp.route("GET", JWKS_URI, (200, {"keys": [{**new, "kid": "k2", "use": "sig"}]}))
    clock.advance(31)
    token = tokens.access(key=tokens.other, header={"kid": "k2"})
    assert client.get(API, headers=bearer(token)).status_code == 200


def test_keys_are_cached_for_five_minutes(client, idp, tokens, clock):
    for _ in range(3):
        assert client.get(API, headers=bearer(tokens.access())).status_code == 200
    clock.advance(299)
    assert client.get(API, headers=bearer(tokens.access())).status_code == 200
    assert len(idp.calls("GET", JWKS_URI)) == 1
    clock.advance(1)
    assert client.get(API, headers=bearer(tokens.access())).status_code == 200
    assert len(idp.calls("GET", JWKS_URI)) == 2


def test_keys_for_other_algorithms_or_uses_are_not_trusted(client, idp, idp_key, tokens):
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(idp_key.public_key(), as_dict=True)
    idp.route(
        "GET",
        JWKS_URI,
        (200, {"keys": [{**jwk, "kid": "k1", "use": "enc"}, {**jwk, "kid": "k2", "alg": "PS256"}]}),
    )
    for kid in ("k1", "k2"):
        response = client.get(API, headers=bearer(tokens.access(header={"kid": kid})))
        assert response.json["error_description"] == "The access token is signed by an unknown key."


def test_adas_token_gives_her_talks_by_start(client, idp, tokens):
    response = client.get(API, headers=bearer(tokens.access()))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["speaker"] == {"sub": ADA}
    talks = response.json["talks"]
    assert [talk["title"] for talk in talks] == [
        "Notes on the Analytical Engine",
        "Bernoulli numbers, by hand and by engine",
    ]
    assert talks[0] == {
        "id": "T-2027-101",
        "title": "Notes on the Analytical Engine",
        "abstract": talks[0]["abstract"],
        "room": "Auditorium 1",
        "starts_at": "2027-05-12T10:00:00+01:00",
        "ends_at": "2027-05-12T10:45:00+01:00",
        "track": "History of computing",
    }
    assert talks[0]["abstract"].startswith("The engine weaves algebraic patterns")


def test_graces_token_gives_hers(client, idp, tokens):
    response = client.get(API, headers=bearer(tokens.access(sub=GRACE, uid=GRACE)))
    assert response.json["speaker"] == {"sub": GRACE}
    assert [(t["title"], t["starts_at"]) for t in response.json["talks"]] == [
        ("Nanoseconds, explained", "2027-05-12T16:00:00+01:00")
    ]


def test_a_subject_without_talks_gets_an_empty_list(client, idp, tokens):
    # A service's client_credentials token, say: its subject is the client, with no talks.
    response = client.get(API, headers=bearer(tokens.access(sub="schedule-service", uid=DROP)))
    assert response.status_code == 200
    assert response.json == {"speaker": {"sub": "schedule-service"}, "talks": []}


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        ({"typ": "application/at+jwt"}, {}),
        ({"typ": "AT+JWT"}, {}),
        ({}, {"scp": DROP, "scope": "openid schedule.read"}),
        ({}, {"aud": ["api://other", "api://default"]}),
        ({}, {"exp": -30}),  # seconds from now, when the test runs: within the 60 s leeway
    ],
    ids=["application/at+jwt", "typ case-insensitive", "scope string", "aud list", "leeway"],
)
def test_accepted_variants(client, idp, tokens, header, claims):
    if "exp" in claims:
        claims = {**claims, "exp": now() + claims["exp"]}
    response = client.get(API, headers=bearer(tokens.access(header=header, **claims)))
    assert response.status_code == 200, response.json


def test_the_session_cookie_alone_does_not_open_the_api(client, idp, speaker):
    speaker.log_in()
    response = client.get(API)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="schedule"'
    assert "Set-Cookie" not in response.headers


def test_the_seed_file_is_read_once(app):
    assert schedule.load_talks() is schedule.load_talks()
    assert schedule.service.talks is schedule.load_talks()


# -- The page: a real bearer call over HTTP to the API --


@pytest.fixture
def api_over_http(app: Flask, transport) -> Callable[[], None]:
    """Route the page's HTTP call to the API to this app, as if it ran elsewhere."""

    def forward(request: requests.PreparedRequest) -> tuple[int, Any]:
        headers = {k: v for k, v in request.headers.items() if k in ("Authorization", "Accept")}
        response = app.test_client().get(API, headers=headers)  # no cookie jar: bearer only
        return response.status_code, response.json if response.is_json else response.text

    def route() -> None:
        transport.route("GET", f"{PORTAL_URL}{API}", forward)

    return route


@pytest.fixture
def token_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], list[LoginSession]]:
    """Make the login's IdP access token `token`; returns the logins it was asked for."""
    asked: list[LoginSession] = []

    def use(token: str) -> list[LoginSession]:
        def access_token(login: LoginSession) -> str:
            asked.append(login)
            return token

        monkeypatch.setattr(schedule, "access_token", access_token)
        return asked

    return use


def test_page_shows_the_speakers_talks_from_a_bearer_call(
    client, idp, speaker, tokens, api_over_http, token_for
):
    token = tokens.access()
    asked = token_for(token)
    api_over_http()
    login_id = speaker.log_in()
    response = client.get("/schedule")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert [login.id for login in asked] == [login_id]
    call = idp.calls("GET", f"{PORTAL_URL}{API}")
    assert [request.headers["Authorization"] for request in call] == [f"Bearer {token}"]
    assert "Cookie" not in call[0].headers
    assert NOTE in " ".join(page.split())
    assert 'href="/inspector"' in page
    first = page.index("Notes on the Analytical Engine")
    assert first < page.index("Bernoulli numbers, by hand and by engine")
    assert '<time datetime="2027-05-12T10:00:00+01:00">Wed 12 May 2027, 10:00</time>' in page
    assert "<h1>Your talks</h1>" in page and "<h2" in page


def test_page_without_talks_says_so(client, idp, speaker, tokens, api_over_http, token_for):
    token_for(tokens.access(sub="00u1nobody1speaker00"))
    api_over_http()
    speaker.log_in()
    page = client.get("/schedule").get_data(as_text=True)
    assert "You have no talks on the schedule yet." in page


@pytest.mark.parametrize(
    ("setup", "title", "code"),
    [
        (
            lambda t, transport: t.access(exp=now() - 3600, iat=now() - 7200),
            "The schedule service did not accept your sign-in",
            "invalid_token",
        ),
        (
            lambda t, transport: t.access(scp=["openid"]),
            "Your sign-in does not include the schedule",
            "insufficient_scope",
        ),
        (
            lambda t, transport: (transport.routes.pop(("GET", JWKS_URI)), t.access())[1],
            "The schedule is unavailable",
            "temporarily_unavailable",
        ),
    ],
    ids=["invalid_token", "insufficient_scope", "keys unavailable"],
)
def test_page_explains_api_refusals(
    client, idp, speaker, tokens, api_over_http, token_for, setup, title, code
):
    token_for(setup(tokens, idp))
    api_over_http()
    speaker.log_in()
    response = client.get("/schedule")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert title in page
    assert '<details class="developer">' in page
    assert f"<code>{code}</code>" in page
    assert "Notes on the Analytical Engine" not in page


@pytest.mark.parametrize(
    "reply",
    [requests.ConnectionError("connection refused"), (200, {"talks": "none"}), (502, "<h1>")],
    ids=["unreachable", "not a schedule", "bad gateway"],
)
def test_page_explains_an_unavailable_api(client, transport, speaker, token_for, reply):
    token_for("some-token")
    transport.route("GET", f"{PORTAL_URL}{API}", reply)
    speaker.log_in()
    response = client.get("/schedule")
    assert response.status_code == 200
    assert "The schedule is unavailable" in response.get_data(as_text=True)


def test_page_needs_a_login(client):
    response = client.get("/schedule")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_page_after_a_saml_login_calls_nothing(
    app, client, transport, speaker, token_for, monkeypatch
):
    asked = token_for("unused")
    login_id = speaker.log_in()
    if "protocol" in LoginSession.__table__.columns:
        with app.app_context():
            db.session.execute(update(LoginSession).filter_by(id=login_id).values(protocol="saml"))
            db.session.commit()
    else:  # until the login records its protocol
        monkeypatch.setattr(LoginSession, "protocol", "saml", raising=False)
    response = client.get("/schedule")
    assert response.status_code == 200
    assert "You logged in with SAML" in response.get_data(as_text=True)
    assert asked == []
    assert transport.calls("GET", f"{PORTAL_URL}{API}") == []


# -- The parts, without Flask --


class Redirecting(BaseAdapter):
    """Answers every request with a redirect elsewhere, and records where requests went."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.urls.append(request.url)
        response = requests.Response()
        response.status_code, response.request, response.url = 302, request, request.url
        response.headers["Location"] = "http://elsewhere.test/collect"
        response._content = b""
        return response

    def close(self) -> None:
        pass


def test_page_client_sends_the_token_to_the_configured_url_only():
    http = requests.Session()
    http.mount("http://", adapter := Redirecting())
    client = schedule.ScheduleClient("http://schedule.test/v1/talks", http, timeout=3)
    with pytest.raises(schedule.ScheduleCallFailed) as failed:
        client.talks("tok")
    assert failed.value.problem.status == 302
    assert failed.value.problem.title == "The schedule is unavailable"
    assert adapter.urls == ["http://schedule.test/v1/talks"]  # the redirect was not followed


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, schedule.MissingToken),
        ("", schedule.MissingToken),
        ("Basic abc", schedule.MissingToken),
        ("Bearer", schedule.InvalidRequest),
        ("Bearer a b", schedule.InvalidRequest),
        ("Bearer a,b", schedule.InvalidRequest),
    ],
)
def test_bearer_token_parsing_refusals(authorization, error):
    with pytest.raises(error):
        schedule.bearer_token(authorization)


def test_bearer_scheme_is_case_insensitive():
    assert schedule.bearer_token("bearer abc.def-_~+/==") == "abc.def-_~+/=="


def test_error_descriptions_stay_inside_their_quotes():
    error = schedule.InvalidToken('say "hi" \\ bye\r\n')
    assert (
        error.challenge()
        == 'Bearer realm="schedule", error="invalid_token", error_description="say hi  bye"'
    )


class ObservedLock:
    """A lock that says when a thread starts waiting for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting = threading.Event()

    def __enter__(self) -> None:
        if self.lock.locked():
            self.waiting.set()
        self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def test_concurrent_look_ups_share_one_fetch(idp):
    keys = idp.routes[("GET", JWKS_URI)][0]
    fetching, release = threading.Event(), threading.Event()

    def slow_keys(request: requests.PreparedRequest) -> tuple[int, Any]:
        fetching.set()
        assert release.wait(5)
        return keys

    idp.route("GET", JWKS_URI, slow_keys)
    cache = schedule.JwksCache(ISSUER, requests.Session(), timeout=3)
    cache._lock = lock = ObservedLock()
    first = threading.Thread(target=cache.key, args=("k1",))
    first.start()
    assert fetching.wait(5)
    second = threading.Thread(target=cache.key, args=("k1",))
    second.start()
    assert lock.waiting.wait(5)  # the second look-up waits for the first one's fetch...
    release.set()
    first.join(5)
    second.join(5)
    assert len(idp.calls("GET", JWKS_URI)) == 1  # ...and uses its keys
