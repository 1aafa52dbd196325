"""Form fuzzing of the IdP: sign-in, registration, password reset, email verification, the
authorize query, the token, introspection, revocation and client registration endpoints, and
SAML SSO over both bindings and IdP-initiated.

Each example fills some fields with valid values (a CSRF token, Ada's password, a live refresh
token, the portal's AuthnRequest) and the rest with hostile ones. No answer is 5xx; an error is
in its dialect (OAuth JSON at the OAuth endpoints, an HTML page elsewhere); and a refused request
leaves every table as it was, but the sign-in failure counters and the two refusals that revoke
a grant on purpose (a replayed code, RFC 6749 §4.1.2; a reused refresh token, RFC 9700 §4.14.2).
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import differences
from tests.fuzz.harness import fuzz_settings
from tests.fuzz.values import HOSTILE
from tests.fuzz.values import form
from tests.mock_idp.conftest import ADA
from tests.mock_idp.conftest import AUTHORIZE
from tests.mock_idp.conftest import CLIENT_ID
from tests.mock_idp.conftest import CLIENT_SECRET
from tests.mock_idp.conftest import IDP_URL
from tests.mock_idp.conftest import PORTAL_URL
from tests.mock_idp.conftest import REDIRECT_URI
from tests.mock_idp.conftest import TOKEN
from tests.mock_idp.conftest import CodeFlow

V1 = "/oauth2/default/v1"
SP_ENTITY = f"{PORTAL_URL}/saml/metadata"
ACS = f"{PORTAL_URL}/saml/acs"
REVOKING_REFUSALS = {
    "The refresh token was already used; the grant is revoked.",
    "The authorization code has already been used.",
}
GRANT_TABLES = {"oidc_grant_families", "oidc_refresh_tokens"}
EXAMPLES = 100


@dataclass(frozen=True)
class Endpoint:
    """How to send a generated request and what counts as accepted."""

    method: str
    path: str  # "{token}" is filled from the `token` field, quoted
    fields: Callable[[Any], dict[str, Any]]  # valid values, from the live IdP
    accepted: Callable[[Any], bool]
    signed_in: bool = False  # from Ada's browser, else a fresh one
    csrf: bool = False
    as_query: bool = False
    as_json: bool = False
    client_auth: bool = False
    dialect: str = "html"  # or "oauth"


def redirected(response: Any) -> bool:
    return response.status_code == 303


def ok(response: Any) -> bool:
    return response.status_code == 200


def issued_code(response: Any) -> bool:
    return response.status_code in (302, 303) and "code=" in response.headers.get("Location", "")


def answered(response: Any) -> bool:
    return response.status_code < 400


PASSWORD = "correct horse battery"
NEW_EMAIL = st.integers(0, 10**9).map(lambda n: f"fuzz{n}@speakers.example")


@st.composite
def authn_request(draw: Any) -> bytes:
    """The portal's AuthnRequest with some of its parts replaced by hostile ones."""

    def part(valid: str) -> str:
        return draw(st.one_of(st.just(valid), HOSTILE))

    attributes = {
        "ID": part("_fuzz1"),
        "Version": part("2.0"),
        "IssueInstant": part("2026-01-01T00:00:00Z"),
        "AssertionConsumerServiceURL": part(ACS),
        "Destination": part(f"{IDP_URL}/saml/sso/redirect"),
    }
    if draw(st.booleans()):
        attributes[draw(st.sampled_from(["ForceAuthn", "IsPassive"]))] = part("true")
    if draw(st.booleans()):
        attributes["ProtocolBinding"] = part("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items())
    issuer = part(SP_ENTITY).replace("&", "&amp;").replace("<", "&lt;")
    return (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"'
        f' xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"{attrs}>'
        f"<saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>"
    ).encode()


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;">]><samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:'
    b'2.0:protocol" ID="_x">&c;</samlp:AuthnRequest>'
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x">&e;'
    b"</samlp:AuthnRequest>"
)
XML = st.one_of(authn_request(), st.sampled_from([LAUGHS, EXTERNAL]), st.binary(max_size=200))


def deflated(xml: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


def encoded(xml: bytes) -> str:
    return base64.b64encode(xml).decode()


ENDPOINTS = {
    "login": Endpoint(
        "POST",
        "/login",
        lambda idp: {"email": ADA["email"], "password": ADA["password"]},
        redirected,
        csrf=True,
    ),
    "register": Endpoint(
        "POST",
        "/register",
        lambda idp: {
            "given_name": "Lin",
            "family_name": "Clark",
            "email": NEW_EMAIL,
            "company": "",
            "password": PASSWORD,
            "confirm_password": PASSWORD,
        },
        redirected,
        csrf=True,
    ),
    "forgot password": Endpoint(
        "POST", "/forgot-password", lambda idp: {"email": ADA["email"]}, redirected, csrf=True
    ),
    "reset password": Endpoint(
        "POST",
        "/reset-password/{token}",
        lambda idp: {
            "token": idp.reset_path.rsplit("/", 1)[1],
            "password": PASSWORD,
            "confirm_password": PASSWORD,
        },
        redirected,
        csrf=True,
    ),
    "verify email": Endpoint(
        "GET", "/verify-email/{token}", lambda idp: {"token": idp.verify_path.rsplit("/", 1)[1]}, ok
    ),
    "authorize": Endpoint(
        "GET",
        AUTHORIZE,
        lambda idp: {
            **CodeFlow(idp.browser).authorize_params(),
            "prompt": st.sampled_from([None, "none", "login", "consent"]),
            "max_age": st.sampled_from([None, "0", "60"]),
            "response_mode": st.sampled_from([None, "query", "form_post", "fragment"]),
        },
        issued_code,
        signed_in=True,
        as_query=True,
    ),
    "token": Endpoint(
        "POST",
        TOKEN,
        lambda idp: {
            "grant_type": st.sampled_from(
                ["refresh_token", "authorization_code", "client_credentials"]
            ),
            "refresh_token": idp.refresh_token,
            "code": "not-a-live-code",
            "redirect_uri": REDIRECT_URI,
            "code_verifier": "v" * 43,
            "scope": st.sampled_from(["openid", "openid offline_access", "api"]),
        },
        ok,
        client_auth=True,
        dialect="oauth",
    ),
    "introspect": Endpoint(
        "POST",
        f"{V1}/introspect",
        lambda idp: {
            "token": st.sampled_from([idp.access_token, idp.refresh_token]),
            "token_type_hint": st.sampled_from(["access_token", "refresh_token"]),
        },
        ok,
        client_auth=True,
        dialect="oauth",
    ),
    "revoke": Endpoint(
        "POST",
        f"{V1}/revoke",
        lambda idp: {
            "token": "not-a-live-token",
            "token_type_hint": st.sampled_from(["access_token", "refresh_token"]),
        },
        ok,
        client_auth=True,
        dialect="oauth",
    ),
    "client registration": Endpoint(
        "POST",
        f"{V1}/clients",
        lambda idp: {
            "client_name": "Fuzz",
            "redirect_uris": st.lists(
                st.sampled_from(["http://127.0.0.1:9/cb", "https://rp.example/cb"]) | HOSTILE,
                min_size=1,
                max_size=3,
            ),
            "grant_types": st.lists(
                st.sampled_from(["authorization_code", "refresh_token", "client_credentials"])
                | HOSTILE,
                min_size=1,
                max_size=3,
            ),
            "response_types": st.sampled_from([["code"], [], ["token"]]),
            "token_endpoint_auth_method": st.sampled_from(
                ["client_secret_basic", "client_secret_post", "none", "private_key_jwt"]
            ),
            "scope": "openid profile",
        },
        lambda response: response.status_code == 201,
        as_json=True,
        dialect="oauth",
    ),
    "SAML SSO, redirect binding": Endpoint(
        "GET",
        "/saml/sso/redirect",
        lambda idp: {
            "SAMLRequest": XML.map(deflated),
            "RelayState": st.sampled_from([None, "/cases", "r" * 81]),
            "SigAlg": st.sampled_from([None, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]),
            "Signature": st.none() | st.binary(max_size=64).map(encoded),
        },
        answered,
        signed_in=True,
        as_query=True,
    ),
    "SAML SSO, POST binding": Endpoint(
        "POST",
        "/saml/sso/post",
        lambda idp: {"SAMLRequest": XML.map(encoded), "RelayState": "/cases"},
        answered,
        signed_in=True,
    ),
    "SAML IdP-initiated": Endpoint(
        "GET",
        "/saml/idp-init",
        lambda idp: {"sp": SP_ENTITY, "RelayState": "/cases"},
        answered,
        signed_in=True,
        as_query=True,
    ),
}

BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
CLIENT_AUTH = st.one_of(
    st.just({"Authorization": BASIC}),
    st.just({}),
    HOSTILE.map(lambda text: {"Authorization": "Basic " + encoded(text.encode())}),
    HOSTILE.filter(lambda text: text.isprintable()).map(lambda text: {"Authorization": text}),
)


def csrf_token(client: Any) -> str:
    """The session's CSRF token (Flask-WTF's token is per session, not per form)."""
    return CodeFlow.csrf_token(client.get("/login").text)


def send(idp: Any, endpoint: Endpoint, data: Any) -> Any:
    """Build one request from `data` (Hypothesis' draw) and send it."""
    client = idp.browser if endpoint.signed_in else idp.app.test_client()
    values = data.draw(form(endpoint.fields(idp)))
    path = endpoint.path
    if "{token}" in path:
        token = values.pop("token", "") or ""
        path = path.replace("{token}", quote(str(token), safe="") or "x")
    headers: dict[str, str] = {}
    if endpoint.client_auth:
        headers = data.draw(CLIENT_AUTH)
        if not headers and not data.draw(st.booleans()):
            values.update(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    if endpoint.csrf and data.draw(st.integers(0, 4)) < 4:
        values["csrf_token"] = csrf_token(client)
    if endpoint.as_json:
        body = data.draw(st.one_of(st.just(values), HOSTILE, st.lists(HOSTILE, max_size=2)))
        return client.open(
            path, method="POST", data=json.dumps(body), headers=headers, mimetype="application/json"
        )
    if endpoint.as_query:
        return client.open(path, method=endpoint.method, query_string=values, headers=headers)
    return client.open(path, method=endpoint.method, data=values, headers=headers)


def dialect_problem(endpoint: Endpoint, response: Any) -> str | None:
    """What is wrong with an error answer for its endpoint's dialect, if anything."""
    if endpoint.dialect == "oauth":
        body = response.get_json(silent=True)
        if not (isinstance(body, dict) and isinstance(body.get("error"), str)):
            return f"not an OAuth error: {response.get_data()[:200]!r}"
    elif response.mimetype != "text/html":
        return f"not an HTML page: {response.mimetype}"
    return None


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_no_form_is_a_server_error_or_stores_anything_when_refused(idp: Any, name: str) -> None:
    endpoint = ENDPOINTS[name]
    last = {"snapshot": idp.snapshot()}

    @fuzz_settings(EXAMPLES)
    @given(data=st.data())
    def fuzz(data: Any) -> None:
        response = send(idp, endpoint, data)
        after = idp.snapshot()
        before, last["snapshot"] = last["snapshot"], after
        assert response.status_code < 500, response.get_data()[:500]
        if endpoint.accepted(response):
            return
        if response.status_code >= 400:
            assert dialect_problem(endpoint, response) is None, dialect_problem(endpoint, response)
        changed = differences(before, after)
        body = response.get_json(silent=True) if endpoint.dialect == "oauth" else None
        if isinstance(body, dict) and body.get("error_description") in REVOKING_REFUSALS:
            assert set(changed) <= GRANT_TABLES, changed
        else:
            assert changed == {}, (response.status_code, changed)

    fuzz()
