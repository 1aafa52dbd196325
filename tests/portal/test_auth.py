"""Login at the IdP (through a fake IdP), safe `next`, login-required redirects, logout."""

from __future__ import annotations

import base64
import re
import time
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import jwt
import pytest
from sqlalchemy import func
from sqlalchemy import select

from portal.auth import safe_next
from portal.models import LoginSession
from portal.models import User
from portal.models import db

ISSUER = "http://idp.test/oauth2/default"
IDP_TOKEN = f"{ISSUER}/v1/token"


def id_token(key, kid: str = "k1", **overrides) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "00u1ada1demo1speaker",
        "aud": "speaker-portal",
        "iat": now,
        "exp": now + 300,
        "name": "Ada Lovelace",
        "email": "ada@speakers.example",
        **overrides,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def log_in(client, idp, idp_key, next_path="/support", **claims):
    """Start at /auth/login, let the fake IdP answer the code exchange, hit the callback."""
    authorize = parse_qs(urlsplit(client.get(f"/auth/login?next={next_path}").location).query)
    token = {
        "access_token": "idp-access-token",
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "openid profile email offline_access",
        "id_token": id_token(idp_key, **{"nonce": authorize["nonce"][0], **claims}),
        "refresh_token": "idp-refresh-token",
    }
    idp.route("POST", IDP_TOKEN, (200, token))
    return client.get(f"/auth/callback?code=the-code&state={authorize['state'][0]}")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/support", "/support"),
        ("/support?tab=open", "/support?tab=open"),
        (None, None),
        ("", None),
        ("support", None),
        ("//evil.example/", None),
        ("/\\evil.example", None),
        ("https://evil.example/support", None),
        ("/\t/evil.example", None),
        ("javascript:alert(1)", None),
    ],
)
def test_safe_next_keeps_only_local_paths(target, expected) -> None:
    assert safe_next(target) == expected


def test_login_redirects_to_the_idp_with_pkce_nonce_and_state(client, idp) -> None:
    response = client.get("/auth/login?next=/support")

    url = urlsplit(response.location)
    query = parse_qs(url.query)
    assert response.status_code == 302
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{ISSUER}/v1/authorize"
    assert {k: v[0] for k, v in query.items() if k not in {"state", "nonce", "code_challenge"}} == {
        "response_type": "code",
        "client_id": "speaker-portal",
        "redirect_uri": "http://portal.test/auth/callback",
        "scope": "openid profile email offline_access schedule.read",
        "code_challenge_method": "S256",
    }
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
    assert len(base64.urlsafe_b64decode(query["code_challenge"][0] + "=")) == 32
    with client.session_transaction() as session:
        assert session["login_next"] == "/support"


@pytest.mark.parametrize("next_path", ["//evil.example/", "https://evil.example/"])
def test_login_drops_a_foreign_next(client, idp, next_path) -> None:
    client.get(f"/auth/login?next={next_path}")

    with client.session_transaction() as session:
        assert session["login_next"] == "/"


def test_callback_logs_the_speaker_in_and_keeps_tokens_server_side(
    app, client, idp, idp_key
) -> None:
    response = log_in(client, idp, idp_key)

    assert (response.status_code, response.location) == (302, "/support")
    (token_request,) = idp.calls("POST", IDP_TOKEN)
    form = parse_qs(token_request.body)
    assert form["grant_type"] == ["authorization_code"]
    assert form["code"] == ["the-code"]
    assert form["redirect_uri"] == ["http://portal.test/auth/callback"]
    assert len(form["code_verifier"][0]) >= 43
    assert token_request.headers["Authorization"].startswith("Basic ")
    with app.app_context():
        (login,) = db.session.scalars(select(LoginSession)).all()
        assert (login.user.sub, login.user.name, login.user.email) == (
            "00u1ada1demo1speaker",
            "Ada Lovelace",
            "ada@speakers.example",
        )
        assert login.idp_access_token == "idp-access-token"
        assert login.idp_refresh_token == "idp-refresh-token"
        assert login.idp_token_sent is False
        assert login.idp_access_token_expires_at > time.time() + 3500
    with client.session_transaction() as session:
        assert session["_user_id"] == login.id
        assert "idp-access-token" not in str(dict(session))
    assert "Signed in as Ada Lovelace" in client.get("/").get_data(as_text=True)


def test_a_second_login_updates_the_user_instead_of_adding_one(
    app, client, speaker, idp, idp_key
) -> None:
    log_in(client, idp, idp_key)
    client.post("/auth/logout", data={"csrf_token": speaker.csrf_token()})
    log_in(client, idp, idp_key, name="Augusta Ada King")

    with app.app_context():
        (user,) = db.session.scalars(select(User)).all()
        assert user.name == "Augusta Ada King"


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"aud": "someone-else"}, "invalid_id_token"),
        ({"iss": "http://evil.test/oauth2/default"}, "invalid_id_token"),
        ({"nonce": "replayed"}, "invalid_id_token"),
        ({"exp": int(time.time()) - 3600}, "invalid_id_token"),
    ],
    ids=["audience", "issuer", "nonce", "expired"],
)
def test_an_id_token_that_does_not_validate_gives_a_friendly_page(
    app, client, idp, idp_key, claims, code
) -> None:
    response = log_in(client, idp, idp_key, **claims)

    assert response.status_code == 400
    assert "Login failed" in response.get_data(as_text=True)
    assert f"<code>{code}</code>" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(LoginSession)).all() == []


@pytest.mark.parametrize(
    ("query", "code", "text"),
    [
        ("error=access_denied&error_description=User+cancelled", "access_denied", "User cancelled"),
        ("code=abc&state=forged", "mismatching_state", "State not equal in request and response."),
        ("code=abc", "mismatching_state", "State not equal in request and response."),
    ],
)
def test_callback_errors_give_a_friendly_page(client, idp, query, code, text) -> None:
    client.get("/auth/login")

    response = client.get(f"/auth/callback?{query}")

    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"<code>{code}</code>" in body and text in body


def test_a_callback_with_its_state_but_no_code_gives_a_friendly_page(client, idp) -> None:
    """It answered 500 (Authlib's MissingCodeException), found by tests/fuzz/portal."""
    state = parse_qs(urlsplit(client.get("/auth/login").location).query)["state"][0]

    response = client.get(f"/auth/callback?state={state}")

    assert response.status_code == 400
    assert "<code>missing_code</code>" in response.get_data(as_text=True)


def test_idp_token_endpoint_refusal_gives_a_friendly_page(client, idp) -> None:
    state = parse_qs(urlsplit(client.get("/auth/login").location).query)["state"][0]
    idp.route(
        "POST", IDP_TOKEN, (400, {"error": "invalid_grant", "error_description": "code used"})
    )

    response = client.get(f"/auth/callback?code=abc&state={state}")

    assert response.status_code == 400
    assert "<code>invalid_grant</code>" in response.get_data(as_text=True)


def test_idp_down_gives_503_at_login_and_at_callback(client, transport) -> None:
    login = client.get("/auth/login")
    with client.session_transaction() as session:
        session["_state_idp_s1"] = {"data": {"nonce": "n"}, "exp": time.time() + 60}
    callback = client.get("/auth/callback?code=abc&state=s1")

    for response in (login, callback):
        assert response.status_code == 503
        assert "<code>idp_unavailable</code>" in response.get_data(as_text=True)


def test_support_requires_login(client) -> None:
    response = client.get("/support")

    assert (response.status_code, response.location) == (302, "/auth/login?next=/support")


def test_htmx_request_after_the_login_ended_gets_hx_redirect_not_302(app, client, speaker) -> None:
    speaker.log_in()
    token = speaker.csrf_token()
    with app.app_context():  # the login ended elsewhere (logout in another tab, clean-up)
        db.session.delete(db.session.get(LoginSession, speaker.login_id))
        db.session.commit()

    response = client.post(
        "/support/cases",
        data={"csrf_token": token, "subject": "Mic", "priority": "High"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://portal.test/support"},
    )

    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/auth/login?next=/support"


def test_logged_in_visit_to_login_goes_straight_to_next(client, speaker) -> None:
    speaker.log_in()

    response = client.get("/auth/login?next=/support")

    assert (response.status_code, response.location) == (302, "/support")


def test_logout_is_post_only(client, speaker) -> None:
    speaker.log_in()

    assert client.get("/auth/logout").status_code == 405
    assert speaker.login_session() is not None


def test_logout_without_csrf_token_is_refused_with_a_friendly_page(client, speaker) -> None:
    speaker.log_in()

    response = client.post("/auth/logout")

    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The CSRF token is missing." in body and "<code>csrf</code>" in body
    assert speaker.login_session() is not None


def test_logout_deletes_the_login_session(client, speaker) -> None:
    speaker.log_in()

    response = client.post("/auth/logout", data={"csrf_token": speaker.csrf_token()})

    assert (response.status_code, response.location) == (303, "/")
    assert speaker.login_session() is None
    assert 'href="/auth/login">Log in</a>' in client.get("/").get_data(as_text=True)


def logout_query(response) -> dict[str, str]:
    """The fields of the logout form that goes on to the IdP (a POST: no token in any URL)."""
    page = response.get_data(as_text=True)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))


def logout_action(response) -> str:
    return re.search(
        r'<form method="post" action="([^"]+)" id="logout-post"', response.get_data(as_text=True)
    ).group(1)


def test_logout_revokes_the_refresh_token_and_goes_on_to_the_idps_logout(
    client, speaker, idp, issuer
) -> None:
    idp.route("POST", issuer.revocation_endpoint, (200, ""))
    speaker.log_in()

    response = client.post("/auth/logout", data={"csrf_token": speaker.csrf_token()})

    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert logout_action(response) == issuer.end_session_endpoint
    assert "data-autosubmit" in response.get_data(as_text=True)
    query = logout_query(response)
    assert {k: v for k, v in query.items() if k != "state"} == {
        "id_token_hint": "idp-id-token",
        "post_logout_redirect_uri": "http://portal.test/",
    }
    assert len(query["state"]) >= 40
    assert speaker.login_session() is None
    (revocation,) = idp.calls("POST", issuer.revocation_endpoint)
    assert parse_qs(revocation.body) == {
        "token": ["idp-refresh-token-0"],
        "token_type_hint": ["refresh_token"],
    }
    credentials = base64.b64encode(b"speaker-portal:portal-demo-secret").decode()
    assert revocation.headers["Authorization"] == f"Basic {credentials}"


def test_back_from_the_idp_with_its_state_the_home_page_says_logged_out(
    client, speaker, idp, issuer
) -> None:
    idp.route("POST", issuer.revocation_endpoint, (200, ""))
    speaker.log_in()
    state = logout_query(client.post("/auth/logout", data={"csrf_token": speaker.csrf_token()}))[
        "state"
    ]

    home = client.get(f"/?state={state}").get_data(as_text=True)
    again = client.get(f"/?state={state}").get_data(as_text=True)

    message = '<p role="status" class="message">You are logged out, at the identity provider too.'
    assert message in home and 'href="/auth/login">Log in</a>' in home
    assert message not in again  # the state is used up


@pytest.mark.parametrize("query", ["?state=forged", "?state=", "", "?state=%C3%A9"])
def test_a_missing_or_foreign_logout_state_just_shows_the_home_page(
    client, speaker, idp, issuer, query
) -> None:
    idp.route("POST", issuer.revocation_endpoint, (200, ""))
    speaker.log_in()
    client.post("/auth/logout", data={"csrf_token": speaker.csrf_token()})

    response = client.get(f"/{query}")

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Speaker Portal</h1>" in body and "logged out" not in body


@pytest.mark.parametrize(
    "revocation",
    [(503, "<html>down</html>"), (400, {"error": "unauthorized_client"}), None],
    ids=["idp-error", "refused", "unreachable"],
)
def test_a_failed_revocation_never_blocks_logout(client, speaker, idp, issuer, revocation) -> None:
    if revocation:
        idp.route("POST", issuer.revocation_endpoint, revocation)
    speaker.log_in()

    response = client.post("/auth/logout", data={"csrf_token": speaker.csrf_token()})

    assert response.status_code == 200
    assert logout_action(response) == issuer.end_session_endpoint
    assert speaker.login_session() is None


def test_without_end_session_endpoint_logout_goes_home(client, speaker, transport, issuer) -> None:
    metadata = {
        k: v
        for k, v in issuer.metadata.items()
        if k not in {"end_session_endpoint", "revocation_endpoint"}
    }
    transport.route("GET", f"{issuer.issuer}/.well-known/openid-configuration", (200, metadata))
    speaker.log_in()

    response = client.post("/auth/logout", data={"csrf_token": speaker.csrf_token()})

    assert (response.status_code, response.location) == (303, "/")
    assert speaker.login_session() is None
    assert transport.calls("POST", issuer.revocation_endpoint) == []


def test_logout_revokes_the_cached_salesforce_session_too(
    client, speaker, salesforce, org, idp, issuer
) -> None:
    idp.route("POST", issuer.revocation_endpoint, (200, ""))
    revoke = f"{org.url}/services/oauth2/revoke"
    salesforce.route("POST", revoke, (200, ""))
    speaker.log_in()
    client.get("/support")  # exchanges and caches the Salesforce session
    cached = speaker.login_session().sf_access_token

    response = client.post("/auth/logout", data={"csrf_token": speaker.csrf_token()})

    assert response.status_code == 200
    (revocation,) = salesforce.calls("POST", revoke)
    assert parse_qs(revocation.body) == {"token": [cached]}


def test_a_salesforce_that_refuses_the_revocation_does_not_stop_logout(
    client, speaker, salesforce, org, idp, issuer
) -> None:
    idp.route("POST", issuer.revocation_endpoint, (200, ""))
    salesforce.route("POST", f"{org.url}/services/oauth2/revoke", (400, {"error": "invalid_token"}))
    speaker.log_in()
    client.get("/support")

    response = client.post("/auth/logout", data={"csrf_token": speaker.csrf_token()})

    assert (response.status_code, logout_action(response)) == (200, issuer.end_session_endpoint)
    assert speaker.login_session() is None


def keys(*pairs) -> dict:
    """A JWKS of (kid, private key) pairs."""
    return {
        "keys": [
            {
                **jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True),
                "kid": kid,
                "alg": "RS256",
            }
            for kid, key in pairs
        ]
    }


def log_in_signed(client, idp, key, kid: str):
    """Log in with an ID token signed by `key` under `kid`."""
    authorize = parse_qs(urlsplit(client.get("/auth/login?next=/").location).query)
    token = {
        "access_token": "idp-access-token",
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token(key, kid, nonce=authorize["nonce"][0]),
        "refresh_token": "idp-refresh-token",
    }
    idp.route("POST", IDP_TOKEN, (200, token))
    return client.get(f"/auth/callback?code=the-code&state={authorize['state'][0]}")


@pytest.fixture(scope="module")
def new_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_an_unknown_kid_refetches_the_jwks_once(client, idp, idp_key, new_key) -> None:
    jwks_uri = f"{ISSUER}/v1/keys"
    idp.route(
        "GET", jwks_uri, (200, keys(("k1", idp_key))), (200, keys(("k1", idp_key), ("k2", new_key)))
    )

    response = log_in_signed(client, idp, new_key, "k2")

    assert response.status_code == 302
    assert len(idp.calls("GET", jwks_uri)) == 2


def test_a_key_replaced_under_its_kid_is_refetched_once(client, idp, idp_key, new_key) -> None:
    jwks_uri = f"{ISSUER}/v1/keys"
    idp.route("GET", jwks_uri, (200, keys(("k1", idp_key))), (200, keys(("k1", new_key))))

    response = log_in_signed(client, idp, new_key, "k1")

    assert response.status_code == 302
    assert len(idp.calls("GET", jwks_uri)) == 2


def test_a_bad_signature_is_refused_after_one_refetch_and_not_refetched_again(
    client, idp, idp_key, new_key
) -> None:
    jwks_uri = f"{ISSUER}/v1/keys"

    first = log_in_signed(client, idp, new_key, "k1")  # signed by a key the IdP never published
    second = log_in_signed(client, idp, new_key, "k1")

    assert first.status_code == second.status_code == 400
    assert "<code>invalid_id_token</code>" in first.get_data(as_text=True)
    assert "<dd>bad_signature</dd>" in first.get_data(as_text=True)
    assert len(idp.calls("GET", jwks_uri)) == 2  # once, then once more; the cooldown holds after


def csrf_secret(client) -> str | None:
    with client.session_transaction() as cookie:
        return cookie.get("csrf_token")


def test_a_planted_csrf_secret_is_replaced_at_login(app, client, idp, idp_key) -> None:
    # Finding 7: a session cookie planted before login kept its CSRF secret, so tokens the
    # attacker derived from it stayed valid for the speaker's login.
    with client.session_transaction() as cookie:
        cookie["csrf_token"] = "planted-by-an-attacker"
    log_in(client, idp, idp_key)

    page = client.get("/").get_data(as_text=True)
    assert 'action="/auth/logout"' in page
    assert csrf_secret(client) not in (None, "planted-by-an-attacker")


def test_a_csrf_secret_of_a_login_is_void_after_its_logout(client, speaker, idp, issuer) -> None:
    idp.route("POST", issuer.revocation_endpoint, (200, ""))
    speaker.log_in()
    token = speaker.csrf_token()
    secret = csrf_secret(client)
    client.post("/auth/logout", data={"csrf_token": token})

    assert secret is not None and csrf_secret(client) != secret


def test_an_unverified_email_gets_a_friendly_page_and_no_login(app, client, idp, idp_key) -> None:
    # Finding 2: an unconfirmed self-registered address logged in, and its first exchange made a
    # Salesforce user named after what it asserted.
    response = log_in(client, idp, idp_key, email_verified=False)

    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Confirm your email address first" in body
    assert "confirmation email" in body
    assert 'href="/auth/login">Log in</a>' in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0


def test_a_verified_email_logs_in(client, idp, idp_key) -> None:
    assert log_in(client, idp, idp_key, email_verified=True).status_code == 302
