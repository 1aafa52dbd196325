"""The flow inspector: what it records of each call, that no secret survives, and who sees it."""

from __future__ import annotations

import base64
import json
import re
import shlex
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from flask import Flask
from flask import current_app
from flask import render_template_string
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text

from portal import inspector
from portal.inspector import InspectorStep
from portal.models import db

PORTAL_URL = "http://portal.test"
ISSUER = "http://idp.test/oauth2/default"
IDP_TOKEN = f"{ISSUER}/v1/token"
SF_URL = "http://sf.test"
SF_TOKEN = f"{SF_URL}/services/oauth2/token"
DATA = f"{SF_URL}/services/data/v66.0"
SF_SESSION_ID = "00D000000000001!AQ0AQHq8s3cr3tS3ss10nPartOnlyForTests"
SIGNING_KEY = b"inspector-tests-hmac-key-32-bytes!!"


def a_jwt(**claims: Any) -> str:
    now = 1_780_000_000
    payload = {
        "iss": ISSUER,
        "sub": "00u1ada1demo1speaker",
        "aud": "api://default",
        "iat": now,
        "exp": now + 3600,
        "jti": "AT.jti-1",
        "scp": ["openid", "profile", "email"],
        "cid": "speaker-portal",
        **claims,
    }
    return jwt.encode(payload, SIGNING_KEY, algorithm="HS256", headers={"kid": "k1"})


def observed() -> requests.Session:
    """A session as the portal's are wired: every response goes through the inspector."""
    http = requests.Session()
    http.hooks["response"].append(inspector.observe)
    return http


@pytest.fixture
def app(app: Flask) -> Flask:
    """The portal app with the inspector, and /_probe running whatever a test puts in PROBE."""
    if "inspector" not in app.blueprints:  # until the factory wires it in
        inspector.init_app(app)

    def probe() -> str:
        result = current_app.config["PROBE"]()
        return result if isinstance(result, str) else "ok"

    app.add_url_rule("/_probe", "probe", probe, methods=["GET", "POST"])
    return app


def probe(client: FlaskClient, action: Callable[[], Any], **kwargs: Any) -> Any:
    """Run `action` inside a request of this browser (test client)."""
    client.application.config["PROBE"] = action
    response = client.get("/_probe", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def stored(app: Flask) -> str:
    """Every stored inspector row, every column, as one string to search for leaks."""
    with app.app_context():
        rows = db.session.execute(text("SELECT * FROM inspector_step")).all()
    # As stored (JSON escapes non-ASCII), and decoded (where the fingerprints' "…" reads as such).
    decoded = [json.dumps(step.details, ensure_ascii=False) for step in steps(app)]
    return repr([tuple(row) for row in rows]) + "\n".join(decoded)


def steps(app: Flask) -> list[InspectorStep]:
    with app.app_context():
        found = db.session.scalars(select(InspectorStep).order_by(InspectorStep.id)).all()
        for step in found:
            db.session.expunge(step)
        return list(found)


def count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(InspectorStep))


# --- classification -------------------------------------------------------------------------


def token_reply(**extra: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"access_token": a_jwt(), "token_type": "Bearer", "expires_in": 3600, **extra}


CALLS = [
    (
        "discovery",
        "idp",
        "GET",
        f"{ISSUER}/.well-known/openid-configuration",
        {},
        (200, {"issuer": ISSUER}),
    ),
    ("keys", "idp", "GET", f"{ISSUER}/v1/keys", {}, (200, {"keys": []})),
    (
        "code_exchange",
        "idp",
        "POST",
        IDP_TOKEN,
        {
            "data": {
                "grant_type": "authorization_code",
                "code": "the-code",
                "code_verifier": "v" * 43,
                "redirect_uri": f"{PORTAL_URL}/auth/callback",
            }
        },
        token_reply(id_token=a_jwt(aud="speaker-portal"), refresh_token="rt-1"),
    ),
    (
        "refresh",
        "idp",
        "POST",
        IDP_TOKEN,
        {"data": {"grant_type": "refresh_token", "refresh_token": "rt-1"}},
        token_reply(refresh_token="rt-2"),
    ),
    (
        "token_exchange",
        "salesforce",
        "POST",
        SF_TOKEN,
        {
            "data": {
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token": a_jwt(),
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "client_id": "speaker-portal",
                "client_secret": "portal-sf-demo-secret",
                "token_handler": "SpeakerTokenHandler",
                "scope": "api",
            }
        },
        (200, {"access_token": SF_SESSION_ID, "instance_url": SF_URL, "signature": "c2ln"}),
    ),
    (
        "rest",
        "salesforce",
        "GET",
        f"{DATA}/query",
        {"params": {"q": "SELECT Id FROM Case"}, "headers": {"Authorization": "Bearer x"}},
        (200, {"totalSize": 0, "done": True, "records": []}),
    ),
    (
        "revoke",
        "salesforce",
        "POST",
        f"{SF_URL}/services/oauth2/revoke",
        {"data": {"token": SF_SESSION_ID}},
        (200, {}),
    ),
    (
        "revoke",
        "idp",
        "POST",
        f"{ISSUER}/v1/revoke",
        {"data": {"token": "rt-2", "token_type_hint": "refresh_token"}},
        (200, {}),
    ),
    (
        "schedule_api",
        "schedule",
        "GET",
        f"{PORTAL_URL}/api/schedule",
        {"headers": {"Authorization": f"Bearer {a_jwt()}"}},
        (200, {"sessions": []}),
    ),
]


@pytest.mark.parametrize(("kind", "receiver", "method", "url", "kwargs", "reply"), CALLS)
def test_each_server_side_call_is_classified_from_its_url_and_body(
    app, transport, kind, receiver, method, url, kwargs, reply
) -> None:
    transport.route(method, url, reply)

    with app.test_request_context():
        observed().request(method, url, **kwargs)

    [step] = steps(app)
    assert (step.kind, step.sender, step.receiver) == (kind, "portal", receiver)
    assert (step.method, step.url, step.status) == (method, url, 200)
    assert step.latency_ms is not None and step.latency_ms >= 0
    assert step.details["curl"].startswith("curl -sS")


def test_the_token_exchange_step_names_its_handler_and_subject_token_type(app, transport) -> None:
    transport.route("POST", SF_TOKEN, CALLS[4][5])

    with app.test_request_context():
        observed().post(SF_TOKEN, **CALLS[4][4])

    [step] = steps(app)
    assert step.details["exchange"] == {
        "token_handler": "SpeakerTokenHandler",
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "scope": "api",
    }
    assert [token["field"] for token in step.details["jwts"]] == ["subject_token"]


def test_a_json_body_is_kept_as_parameters(app, transport) -> None:
    transport.route("POST", f"{DATA}/sobjects/Case/", (201, {"id": "500000000000001AAA"}))

    with app.test_request_context():
        observed().post(f"{DATA}/sobjects/Case/", json={"Subject": "Projector", "Priority": "Low"})

    [step] = steps(app)
    assert step.kind == "rest"
    assert step.details["params"] == {"Subject": "Projector", "Priority": "Low"}
    assert step.details["response"] == {"id": "500000000000001AAA"}


def test_browser_steps_are_recorded_with_their_query_as_parameters(app) -> None:
    authorize = (
        f"{ISSUER}/v1/authorize?response_type=code&client_id=speaker-portal&state=st4te"
        "&code_challenge=abc&code_challenge_method=S256&scope=openid"
    )
    with app.test_request_context():
        inspector.record_step(
            kind="authorize", sender="browser", receiver="idp", method="GET", url=authorize
        )
        inspector.record_step(
            kind="callback",
            sender="browser",
            receiver="portal",
            method="GET",
            url=f"{PORTAL_URL}/auth/callback?code=c0de-s3cret&state=st4te",
            status=302,
        )

    authorize_step, callback_step = steps(app)
    assert authorize_step.url == f"{ISSUER}/v1/authorize"
    assert authorize_step.details["params"]["code_challenge_method"] == "S256"
    assert authorize_step.details["params"]["state"] == "st4te"
    assert callback_step.details["params"]["code"].startswith("•••• (sha256:")
    assert "c0de-s3cret" not in stored(app)


def test_observe_does_nothing_outside_a_request_and_never_raises(app, transport) -> None:
    transport.route("GET", f"{ISSUER}/v1/keys", (200, {"keys": []}))
    observed().get(f"{ISSUER}/v1/keys")  # no request context: nothing to attach the step to

    broken = requests.Response()  # no request, no headers worth the name
    with app.test_request_context():
        inspector.observe(broken)
        inspector.observe("not a response")  # type: ignore[arg-type]

    assert count(app) == 0


# --- redaction ------------------------------------------------------------------------------

SAML_XML = b"""<?xml version="1.0"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
    xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
    ID="_r1" InResponseTo="_req42" Destination="http://portal.test/saml/acs"
    IssueInstant="2026-05-01T12:00:00Z" Version="2.0">
  <saml:Issuer>http://idp.test/saml</saml:Issuer>
  <samlp:Status>
    <samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>
  </samlp:Status>
  <saml:Assertion ID="_a1" IssueInstant="2026-05-01T12:00:00Z" Version="2.0">
    <saml:Issuer>http://idp.test/saml</saml:Issuer>
    <ds:Signature>
      <ds:SignedInfo>
        <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
        <ds:Reference URI="#_a1">
          <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
          <ds:DigestValue>ZGlnZXN0U0VDUkVU</ds:DigestValue>
        </ds:Reference>
      </ds:SignedInfo>
      <ds:SignatureValue>U0lHTkFUVVJFVkFMVUVTRUNSRVQ=</ds:SignatureValue>
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>Q0VSVElGSUNBVEU=</ds:X509Certificate>
      </ds:X509Data></ds:KeyInfo>
    </ds:Signature>
    <saml:Subject>
      <saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
        >ada@speakers.example</saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml:SubjectConfirmationData InResponseTo="_req42" NotOnOrAfter="2026-05-01T12:05:00Z"
          Recipient="http://portal.test/saml/acs"/>
      </saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="2026-05-01T11:59:00Z" NotOnOrAfter="2026-05-01T12:05:00Z">
      <saml:AudienceRestriction>
        <saml:Audience>http://portal.test/saml/metadata</saml:Audience>
        <saml:Audience>https://sf.test</saml:Audience>
      </saml:AudienceRestriction>
    </saml:Conditions>
    <saml:AttributeStatement>
      <saml:Attribute Name="email"><saml:AttributeValue>ada@speakers.example</saml:AttributeValue>
      </saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"""
SAML_RESPONSE = base64.b64encode(SAML_XML).decode()


def call(method: str, url: str, reply: Any, **kwargs: Any) -> Callable[[], None]:
    """An observed call to the fake transport, once the test routed it."""

    def run() -> None:
        observed().request(method, url, **kwargs)

    run.route = (method, url.split("?")[0], reply)  # type: ignore[attr-defined]
    return run


def browser_step(**kwargs: Any) -> Callable[[], None]:
    def run() -> None:
        inspector.record_step(**kwargs)

    return run


JWT_SECRET = a_jwt(jti="innocent-field")
OPAQUE = "opaque-access-token-9f8e7d6c5b4a3210"
REFRESH = "idp-refresh-token-1a2b3c4d5e6f7a8b"
LEAKS = {
    "a JWT in an innocently named JSON field": (
        call(
            "POST", f"{DATA}/sobjects/Case/", (201, {"id": "5"}), json={"Description": JWT_SECRET}
        ),
        JWT_SECRET,
        inspector.fingerprint(JWT_SECRET),
    ),
    "a token in a URL query": (
        call("GET", f"{ISSUER}/v1/userinfo?access_token={OPAQUE}", (200, {"sub": "00u1"})),
        OPAQUE,
        inspector.fingerprint(OPAQUE),
    ),
    "a client_secret in a form body": (
        call(
            "POST",
            SF_TOKEN,
            (400, {"error": "invalid_grant"}),
            data={"grant_type": "refresh_token", "client_secret": "portal-sf-demo-secret"},
        ),
        "portal-sf-demo-secret",
        "•••• (21 chars)",
    ),
    "a Salesforce session id in an Authorization header": (
        call(
            "GET",
            f"{DATA}/sobjects/User/005000000000001AAA",
            (200, {"Id": "005000000000001AAA"}),
            headers={"Authorization": f"Bearer {SF_SESSION_ID}"},
        ),
        SF_SESSION_ID,
        inspector.fingerprint(SF_SESSION_ID),
    ),
    "a Salesforce session id in a token response": (
        call("POST", SF_TOKEN, (200, {"access_token": SF_SESSION_ID, "signature": "c2ln"})),
        SF_SESSION_ID,
        "00D000000000001!…(sha256:",
    ),
    "a refresh token in a JSON response": (
        call("POST", IDP_TOKEN, token_reply(refresh_token=REFRESH), data={"grant_type": "x"}),
        REFRESH,
        inspector.fingerprint(REFRESH),
    ),
    "a SAMLResponse posted to the ACS": (
        browser_step(
            kind="saml_response",
            sender="browser",
            receiver="portal",
            method="POST",
            url=f"{PORTAL_URL}/saml/acs",
            params={"SAMLResponse": SAML_RESPONSE, "RelayState": "/support"},
        ),
        SAML_RESPONSE,
        inspector.fingerprint(SAML_RESPONSE),
    ),
    "an authorization code in the callback URL": (
        browser_step(
            kind="callback",
            sender="browser",
            receiver="portal",
            method="GET",
            url=f"{PORTAL_URL}/auth/callback?state=s&code=authz-c0de-0123456789",
        ),
        "authz-c0de-0123456789",
        inspector.fingerprint("authz-c0de-0123456789"),
    ),
    "a JWT in free text": (
        browser_step(
            kind="logout",
            sender="browser",
            receiver="idp",
            method="GET",
            url=f"{ISSUER}/v1/logout",
            note=f"sent the ID token {JWT_SECRET} as a hint",
        ),
        JWT_SECRET,
        inspector.fingerprint(JWT_SECRET),
    ),
}


@pytest.mark.parametrize(("action", "secret", "shown"), LEAKS.values(), ids=LEAKS.keys())
def test_no_secret_is_stored_or_shown_only_its_fingerprint(
    app, client, transport, action, secret, shown
) -> None:
    if hasattr(action, "route"):
        transport.route(*action.route)

    probe(client, action)
    page = client.get("/inspector").get_data(as_text=True)
    panel = client.get("/inspector/panel").get_data(as_text=True)
    diagram = client.get("/inspector/diagram.svg").get_data(as_text=True)

    for place in (stored(app), page, panel, diagram):
        assert secret not in place
        assert quote(secret, safe="") not in place
        for part in secret.split("."):  # no segment of a JWT either, least of all the signature
            assert len(part) < 12 or part not in place
    assert shown in stored(app)
    assert shown in page


def test_the_saml_signature_and_certificate_are_never_kept(app, client) -> None:
    probe(client, LEAKS["a SAMLResponse posted to the ACS"][0])

    row, page = stored(app), client.get("/inspector").get_data(as_text=True)
    for secret in ("U0lHTkFUVVJFVkFMVUVTRUNSRVQ=", "Q0VSVElGSUNBVEU=", "ZGlnZXN0U0VDUkVU"):
        assert secret not in row
        assert secret not in page
    assert "ada@speakers.example" in page  # the NameID is what the step is about


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("access_token", "abc"),
        ("Refresh-Token", "abc"),
        ("id_token_hint", "abc"),
        ("client_secret", "abc"),
        ("code", "abc"),
        ("code_verifier", "abc"),
        ("password", "abc"),
        ("assertion", "abc"),
        ("SAMLRequest", "abc"),
        ("signature", "abc"),
        ("Cookie", "portal_session=abc"),
        ("Set-Cookie", "sid=abc; HttpOnly"),
        ("actor_token", "abc"),
        ("csrf_token", "abc"),
    ],
)
def test_secret_fields_are_redacted_by_name(name, value) -> None:
    redacted = inspector.Redactor().value({name: value, "code_challenge": "keep-me"})

    assert redacted[name].startswith("•••• (")
    assert value not in redacted[name]
    assert redacted["code_challenge"] == "keep-me"


@pytest.mark.parametrize(
    "value",
    [{"value": "s3cr3t-inside"}, ["s3cr3t-inside"], 123456789, "$s3cr3t-inside", "•s3cr3t-inside"],
)
def test_a_secret_field_is_redacted_whatever_its_value_looks_like(value) -> None:
    redacted = json.dumps(inspector.Redactor().value({"assertion": value}), ensure_ascii=False)
    query = quote(json.dumps(value), safe="")
    text = inspector.scrub(f"http://x.test/?password={query}&token={query}")

    assert "s3cr3t-inside" not in redacted and "123456789" not in redacted
    assert "s3cr3t-inside" not in text and "123456789" not in text


def test_chosen_secrets_get_no_hash_to_guess_against() -> None:
    redacted = inspector.Redactor().value({"password": "ada-demo", "client_secret": "s"})

    assert redacted == {"password": "•••• (8 chars)", "client_secret": "•••• (1 chars)"}


@pytest.mark.parametrize(
    "text",
    [
        f"see {JWT_SECRET}",
        f"Authorization: Bearer {SF_SESSION_ID}",
        f"http://x.test/cb?token={quote(SF_SESSION_ID)}",
        f'{{"nested": "{JWT_SECRET}"}}',
        f'{{"refresh_token": "{REFRESH}"}}',
        f"redirect?code={REFRESH}&state=s",
        "SAMLResponse=" + SAML_RESPONSE,
        "x" + SAML_RESPONSE[:200],
    ],
)
def test_secrets_in_free_text_are_redacted_by_shape(text) -> None:
    scrubbed = inspector.scrub(text)

    for secret in (JWT_SECRET, SF_SESSION_ID, quote(SF_SESSION_ID), REFRESH, SAML_RESPONSE[:200]):
        assert secret not in scrubbed
    assert inspector.scrub(scrubbed) == scrubbed  # fingerprints survive a second pass


def test_ordinary_dotted_names_are_not_taken_for_jwts() -> None:
    text = "GET http://speakers.example.com/services/data/v66.0/sobjects/Case.describe"

    assert inspector.scrub(text) == text


# --- decoding -------------------------------------------------------------------------------


def test_jwt_claims_are_decoded_without_their_signature(app, client, transport) -> None:
    id_token = a_jwt(aud="speaker-portal", nonce="n0nce", jti="ID.1")
    transport.route("POST", IDP_TOKEN, token_reply(id_token=id_token, refresh_token=REFRESH))

    probe(client, lambda: observed().post(IDP_TOKEN, data={"grant_type": "authorization_code"}))

    [step] = steps(app)
    access, identity = step.details["jwts"]
    assert (access["field"], identity["field"]) == ("access_token", "id_token")
    assert access["header"] == {"alg": "HS256", "kid": "k1", "typ": "JWT"}
    assert access["claims"]["iss"] == ISSUER
    assert access["claims"]["aud"] == "api://default"
    assert access["claims"]["scp"] == ["openid", "profile", "email"]
    assert access["dates"]["exp"] == "2026-05-28 21:26:40 UTC"
    assert identity["claims"]["nonce"] == "n0nce"
    page = client.get("/inspector").get_data(as_text=True)
    for shown in ("00u1ada1demo1speaker", "api://default", "AT.jti-1", "2026-05-28 21:26:40 UTC"):
        assert shown in page
    assert id_token.split(".")[2] not in page


@pytest.mark.parametrize(
    "token",
    ["eyJub3QganNvbg.eyJhIjox.sig", "eyJhbGciOiJub25lIn0.bm90IGpzb24.x", "eyJ.eyJ.eyJ"],
)
def test_undecodable_jwts_are_still_redacted(token) -> None:
    redactor = inspector.Redactor()

    assert token not in json.dumps(redactor.value({"id_token": token, "text": token}))


def test_saml_fields_are_extracted() -> None:
    fields = inspector.saml_fields(SAML_XML)

    assert fields["message"] == "Response"
    assert fields["Issuer"] == ["http://idp.test/saml"]
    assert fields["NameID"] == ["ada@speakers.example"]
    assert fields["Audience"] == ["http://portal.test/saml/metadata", "https://sf.test"]
    assert fields["Recipient"] == ["http://portal.test/saml/acs"]
    assert fields["NotOnOrAfter"] == ["2026-05-01T12:05:00Z"]
    assert fields["InResponseTo"] == ["_req42"]
    assert fields["Signature algorithm"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    assert fields["Signed elements"] == ["Assertion"]
    assert fields["Attributes"] == {"email": ["ada@speakers.example"]}
    assert "U0lHTkFUVVJFVkFMVUVTRUNSRVQ=" not in json.dumps(fields)


def test_a_deflated_saml_request_is_decoded_too() -> None:
    import zlib

    xml = (
        b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_req42" '
        b'AssertionConsumerServiceURL="http://portal.test/saml/acs"><saml:Issuer '
        b'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">http://portal.test/saml/metadata'
        b"</saml:Issuer></samlp:AuthnRequest>"
    )
    deflate = zlib.compressobj(wbits=-15)
    value = base64.b64encode(deflate.compress(xml) + deflate.flush()).decode()
    redactor = inspector.Redactor()

    assert value not in json.dumps(redactor.value({"SAMLRequest": value}))
    [fields] = redactor.saml
    assert fields["message"] == "AuthnRequest"
    assert fields["AssertionConsumerServiceURL"] == ["http://portal.test/saml/acs"]


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"<not xml",
        b"\xff\xfe\x00\x01",
        b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><r>&x;</r>",
        b"<!DOCTYPE r [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>]><r>&b;</r>",
        b"<r>" + b"<x>" * 5000 + b"</x>" * 5000 + b"</r>",
        b"<r/>" * 3,
        b"x" * (inspector.MAX_SAML + 1),
    ],
)
def test_junk_saml_gives_an_error_never_an_exception(app, junk) -> None:
    fields = inspector.saml_fields(junk)

    assert "root:" not in json.dumps(fields)  # no /etc/passwd, whatever happened
    with app.test_request_context():
        inspector.record_step(
            kind="saml_response",
            sender="browser",
            receiver="portal",
            method="POST",
            url=f"{PORTAL_URL}/saml/acs",
            saml_xml=junk,
        )
    assert count(app) == 1


# --- storage: bounds, browsers, the switch --------------------------------------------------


def test_a_flow_keeps_its_newest_200_steps(app) -> None:
    with app.test_request_context():
        for number in range(201):
            inspector.record_step(
                kind="http", sender="portal", receiver="idp", method="GET", url=f"{ISSUER}/{number}"
            )

    kept = steps(app)
    assert len(kept) == inspector.MAX_STEPS == 200
    assert kept[0].url == f"{ISSUER}/1"
    assert kept[-1].url == f"{ISSUER}/200"


def test_the_bound_holds_across_requests(app, client, monkeypatch) -> None:
    def record(number: int) -> Callable[[], None]:
        return browser_step(
            kind="http", sender="portal", receiver="idp", method="GET", url=f"{ISSUER}/{number}"
        )

    for number in range(3):
        probe(client, record(number))
    monkeypatch.setattr(inspector, "MAX_STEPS", 2)
    probe(client, record(3))

    assert [step.url for step in steps(app)] == [f"{ISSUER}/2", f"{ISSUER}/3"]


def test_old_flows_are_pruned_at_most_once_a_minute(app) -> None:
    old = time.time() - inspector.FLOW_LIFETIME - 10
    row = {
        "flow_id": "old-flow",
        "at": old,
        "kind": "http",
        "sender": "portal",
        "receiver": "idp",
        "method": "GET",
        "url": ISSUER,
        "details": {},
    }
    with app.app_context():
        db.session.execute(insert(InspectorStep), [row])
        db.session.commit()

    step = {"kind": "http", "sender": "portal", "receiver": "idp", "method": "GET", "url": ISSUER}
    with app.test_request_context():
        inspector.record_step(**step)
    assert "old-flow" not in {s.flow_id for s in steps(app)}

    with app.app_context():
        db.session.execute(insert(InspectorStep), [row])
        db.session.commit()
    with app.test_request_context():
        inspector.record_step(**step)
    assert "old-flow" in {s.flow_id for s in steps(app)}  # swept less than a minute ago


def test_another_browser_sees_none_of_these_steps(app, client, transport) -> None:
    transport.route("POST", SF_TOKEN, CALLS[4][5])
    probe(client, lambda: observed().post(SF_TOKEN, **CALLS[4][4]))
    other = app.test_client()

    mine = client.get("/inspector").get_data(as_text=True)
    theirs = other.get("/inspector").get_data(as_text=True)

    assert "Token exchange" in mine
    assert "Token exchange" not in theirs
    assert "No steps yet" in theirs
    assert "Token exchange" not in other.get("/inspector/panel").get_data(as_text=True)


def test_a_new_login_starts_a_new_flow(app, client) -> None:
    first = browser_step(
        kind="authorize", sender="browser", receiver="idp", method="GET", url=ISSUER
    )
    probe(client, first)

    def again() -> None:
        inspector.start_new_flow()
        inspector.record_step(
            kind="callback", sender="browser", receiver="portal", method="GET", url=PORTAL_URL
        )

    probe(client, again)
    page = client.get("/inspector").get_data(as_text=True)

    assert "Callback with the code" in page
    assert "Authorize (OIDC)" not in page
    assert len({step.flow_id for step in steps(app)}) == 2


def test_switched_off_nothing_is_recorded_and_the_pages_are_gone(app, client, transport) -> None:
    app.config["INSPECTOR"] = False
    transport.route("POST", SF_TOKEN, CALLS[4][5])

    def both() -> str:
        observed().post(SF_TOKEN, **CALLS[4][4])
        inspector.record_step(
            kind="authorize", sender="browser", receiver="idp", method="GET", url=ISSUER
        )
        return render_template_string('{% include "inspector/_panel.html" %}')

    panel = probe(client, both).get_data(as_text=True)

    assert panel.strip() == ""
    assert client.get("/inspector").status_code == 404
    assert client.get("/inspector/panel").status_code == 404
    assert client.get("/inspector/diagram.svg").status_code == 404
    assert count(app) == 0


# --- rendering ------------------------------------------------------------------------------


def test_the_panel_is_folded_with_a_link_and_draws_the_steps_when_opened(app, client) -> None:
    def with_panel() -> str:
        inspector.record_step(
            kind="authorize", sender="browser", receiver="idp", method="GET", url=ISSUER
        )
        return render_template_string('{% include "inspector/_panel.html" %}')

    panel = probe(client, with_panel).get_data(as_text=True)
    empty = app.test_client()
    empty.application.config["PROBE"] = lambda: render_template_string(
        '{% include "inspector/_panel.html" %}'
    )

    assert panel.lstrip().startswith("<details")
    assert 'href="/inspector"' in panel
    assert 'hx-get="/inspector/panel"' in panel
    assert 'hx-trigger="toggle once from:closest details' in panel  # drawn when opened
    assert "Authorize (OIDC)" not in panel
    assert "Authorize (OIDC)" in client.get("/inspector/panel").get_data(as_text=True)
    assert empty.get("/_probe").get_data(as_text=True).strip() == ""


def test_an_htmx_request_that_recorded_steps_tells_the_panel(app, client) -> None:
    step = browser_step(
        kind="authorize", sender="browser", receiver="idp", method="GET", url=ISSUER
    )

    response = probe(client, step, headers={"HX-Request": "true"})
    quiet = client.get("/inspector/panel", headers={"HX-Request": "true"})

    assert "inspector-step" in response.headers["HX-Trigger"]
    assert "HX-Trigger" not in quiet.headers


def test_the_page_is_accessible_and_keeps_to_the_csp(app, client, transport) -> None:
    transport.route("POST", SF_TOKEN, CALLS[4][5])
    probe(client, lambda: observed().post(SF_TOKEN, **CALLS[4][4]))

    page = client.get("/inspector").get_data(as_text=True)

    assert 'role="img"' in page and "<title>Sequence diagram of 1 protocol steps" in page
    assert 'class="inspector-diagram" tabindex="0" role="region" aria-label=' in page
    assert '<ol class="inspector-steps">' in page
    assert "<details>" in page
    assert "style=" not in page
    assert "<script>" not in page
    assert 'src="/static/inspector.js"' in page
    assert "https://www.rfc-editor.org/rfc/rfc8693#section-2.1" in page
    assert "sf.remoteaccess_token_exchange_flow.htm" in page
    headings = re.findall(r"<h[1-6]", page)
    assert headings == ["<h1", "<h2", "<h2", *["<h3"] * (len(headings) - 3)]
    svg = client.get("/inspector/diagram.svg")
    assert svg.mimetype == "image/svg+xml"


def test_markup_in_recorded_values_is_escaped(app, client) -> None:
    probe(
        client,
        browser_step(
            kind="<script>alert(1)</script>",
            sender="<b>browser</b>",
            receiver="idp",
            method="GET",
            url=f"{ISSUER}?x=<img src=x onerror=alert(1)>",
        ),
    )

    page = client.get("/inspector").get_data(as_text=True)
    svg = client.get("/inspector/diagram.svg").get_data(as_text=True)

    assert "<script>alert" not in page and "<img src=x" not in page and "<b>browser" not in page
    assert "<script>alert" not in svg and "<b>browser" not in svg


# --- curl -----------------------------------------------------------------------------------


def curl_words(step: InspectorStep) -> list[str]:
    return shlex.split(step.details["curl"].replace(" \\\n  ", " "))


def test_the_exchange_curl_uses_placeholders_for_every_secret(app, transport) -> None:
    transport.route("POST", SF_TOKEN, CALLS[4][5])
    with app.test_request_context():
        observed().post(SF_TOKEN, **CALLS[4][4])

    [step] = steps(app)
    curl = step.details["curl"]
    assert '"subject_token=$SUBJECT_TOKEN"' in curl
    assert '"client_secret=$CLIENT_SECRET"' in curl
    assert "portal-sf-demo-secret" not in curl and "eyJ" not in curl
    words = curl_words(step)
    assert words[:4] == ["curl", "-sS", "-X", "POST"]
    assert "token_handler=SpeakerTokenHandler" in words
    assert SF_TOKEN in words


def test_a_rest_curl_sends_the_salesforce_token_as_a_variable(app, transport) -> None:
    transport.route("GET", f"{DATA}/query", (200, {"records": []}))
    with app.test_request_context():
        observed().get(
            f"{DATA}/query",
            params={"q": "SELECT Id FROM Case WHERE ContactId = '003'"},
            headers={"Authorization": f"Bearer {SF_SESSION_ID}"},
        )

    [step] = steps(app)
    assert '"Authorization: Bearer $SF_ACCESS_TOKEN"' in step.details["curl"]
    assert SF_SESSION_ID not in step.details["curl"]
    words = curl_words(step)
    assert "--get" in words
    assert "q=SELECT Id FROM Case WHERE ContactId = '003'" in words


def test_basic_client_authentication_becomes_a_user_and_a_variable(app, transport) -> None:
    transport.route("POST", IDP_TOKEN, token_reply())
    credentials = base64.b64encode(b"speaker-portal:portal-demo-secret").decode()
    with app.test_request_context():
        observed().post(
            IDP_TOKEN,
            data={"grant_type": "refresh_token", "refresh_token": REFRESH},
            headers={"Authorization": f"Basic {credentials}"},
        )

    [step] = steps(app)
    assert '-u "speaker-portal:$CLIENT_SECRET"' in step.details["curl"]
    assert '"refresh_token=$REFRESH_TOKEN"' in step.details["curl"]
    assert step.details["headers"]["Authorization"].startswith("Basic ••••")
    for secret in (credentials, "portal-demo-secret", REFRESH):
        assert secret not in stored(app)


# --- junk -----------------------------------------------------------------------------------


def raw_response(content: bytes, content_type: str, body: bytes | str | None) -> requests.Response:
    prepared = requests.Request("POST", SF_TOKEN, data=body or None).prepare()
    prepared.body = body
    response = requests.Response()
    response.status_code = 200
    response.request = prepared
    response.url = SF_TOKEN
    response._content = content
    response.headers["Content-Type"] = content_type
    return response


@pytest.mark.parametrize(
    ("content", "content_type", "body"),
    [
        (b"\xff\xfe\x80 not utf-8", "application/json", b"\xff\xfe=\x80\x81"),
        (b"{not json", "application/json", "grant_type=%ZZ%&&=="),
        (b"x" * 5_000_000, "text/plain", b"a=" + b"y" * 5_000_000),
        (json.dumps({"Description": "z" * 100_000}).encode(), "application/json", None),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", b"[" * 50_000),
        (json.dumps({f"k{i}": i for i in range(5000)}).encode(), "application/json", b""),
        (b"", "", None),
    ],
)
def test_junk_and_huge_bodies_never_raise_and_are_capped(app, content, content_type, body) -> None:
    with app.test_request_context():
        inspector.observe(raw_response(content, content_type, body))

    assert count(app) == 1
    assert len(stored(app)) < 64_000


def test_a_streamed_response_is_left_for_its_reader(app, transport) -> None:
    transport.route("GET", f"{ISSUER}/v1/keys", (200, {"keys": []}))
    with app.test_request_context():
        response = observed().get(f"{ISSUER}/v1/keys", stream=True)
        assert response.json() == {"keys": []}

    assert count(app) == 0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{ISSUER}/v1/token", "idp"),
        ("http://idp.test/login", "idp"),
        (f"{SF_URL}/services/oauth2/token", "salesforce"),
        ("https://acme.my.salesforce.com/services/data/v66.0/query", "salesforce"),
        (f"{PORTAL_URL}/api/schedule", "schedule"),
        ("http://schedule.test/v2/talks", "schedule"),
        (f"{PORTAL_URL}/support", "portal"),
        ("http://elsewhere.test/x", "elsewhere.test"),
    ],
)
def test_participants_come_from_the_configured_urls(url, expected) -> None:
    peers = {
        "idp": [ISSUER, "http://idp.test"],
        "salesforce": [SF_URL, SF_URL],
        "schedule": ["http://schedule.test/v2"],
        "portal": [PORTAL_URL],
    }

    assert inspector.participant(url, peers) == expected


def test_a_schedule_api_elsewhere_is_still_the_schedule_api(app, transport) -> None:
    app.config["SCHEDULE_API_URL"] = "http://schedule.test/v2"
    transport.route("GET", "http://schedule.test/v2/talks", (200, {"talks": []}))

    with app.test_request_context():
        observed().get("http://schedule.test/v2/talks", headers={"Authorization": "Bearer x"})

    [step] = steps(app)
    assert (step.kind, step.receiver) == ("schedule_api", "schedule")
    assert '"Authorization: Bearer $IDP_ACCESS_TOKEN"' in step.details["curl"]


def test_without_its_table_the_inspector_stays_out_of_the_way(app, client) -> None:
    with app.app_context():
        InspectorStep.__table__.drop(db.engine)
    step = browser_step(
        kind="authorize", sender="browser", receiver="idp", method="GET", url=ISSUER
    )

    probe(client, step)

    assert "No steps yet" in client.get("/inspector").get_data(as_text=True)


def test_a_real_login_shows_its_steps_and_none_of_its_secrets(app, client, idp, idp_key) -> None:
    authorize = parse_qs(urlsplit(client.get("/auth/login?next=/").location).query)
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "00u1ada",
        "aud": "speaker-portal",
        "iat": now,
        "exp": now + 300,
    }
    id_token = jwt.encode(
        {**claims, "nonce": authorize["nonce"][0], "name": "Ada"},
        idp_key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    tokens = {"access_token": a_jwt(), "token_type": "Bearer", "expires_in": 3600}
    idp.route("POST", IDP_TOKEN, (200, {**tokens, "id_token": id_token, "refresh_token": REFRESH}))

    client.get(f"/auth/callback?code=authz-c0de-0123456789&state={authorize['state'][0]}")
    page = client.get("/inspector").get_data(as_text=True)

    kinds = [step.kind for step in steps(app)]
    assert kinds.index("authorize") < kinds.index("callback") < kinds.index("code_exchange")
    for secret in ("authz-c0de-0123456789", REFRESH, id_token.split(".")[2], "portal-demo-secret"):
        assert secret not in stored(app)
        assert secret not in page
    assert '<details class="inspector-panel">' in client.get("/").get_data(as_text=True)
