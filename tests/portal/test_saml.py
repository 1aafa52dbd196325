"""The portal as a SAML 2.0 SP (portal/saml.py, saml_sp.py) against a real mock_idp in-process.

The IdP's metadata reaches the portal through the fake transport (routed to the in-process IdP);
browser hops are replayed by hand between the two test clients. Negative cases are a table keyed
by the LoginFailed code; forged Responses are minted with mock_idp's own assertion code.
"""

from __future__ import annotations

import base64
import re
import shutil
import stat
import time
import zlib
from dataclasses import replace
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from signxml import XMLVerifier
from signxml.verifier import SignatureConfiguration
from sqlalchemy import select

from mock_idp import create_app as create_idp
from mock_idp.keys import KeyStore
from mock_idp.saml.assertion import AssertionSpec
from mock_idp.saml.assertion import build_response
from mock_idp.saml.assertion import sign
from mock_idp.saml.assertion import signed_response
from portal import saml
from portal import saml_sp
from portal.inspector import InspectorStep
from portal.models import LoginSession
from portal.models import db

pytestmark = pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="needs Debian's xmlsec1")

PORTAL_URL = "http://portal.test"
IDP_URL = "http://idp.test"
SF_URL = "http://sf.test"
SP_ENTITY = f"{PORTAL_URL}/saml/metadata"
ACS = f"{PORTAL_URL}/saml/acs"
IDP_ENTITY = f"{IDP_URL}/saml/metadata"
ADA_ID = "00u1ada1demo1speaker"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NS = {
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
}


@pytest.fixture(scope="session")
def idp_keys_json(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("idp-keys") / "signing-keys.json"
    KeyStore.load_or_create(path)
    return path.read_text()


@pytest.fixture
def idp_app(tmp_path, monkeypatch, idp_keys_json) -> Flask:
    """mock_idp on its own instance folder, seeded with the demo speakers and the portal SP."""
    instance = tmp_path / "idp"
    instance.mkdir()
    (instance / "signing-keys.json").write_text(idp_keys_json)
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(instance))
    app = create_idp(
        {
            "TESTING": True,
            "PASSWORD_HASH_PROFILE": "cheap",
            "IDP_URL": IDP_URL,
            "PORTAL_URL": PORTAL_URL,
            "SF_URL": SF_URL,
            "DATABASE_URL": f"sqlite:///{instance / 'idp.sqlite3'}",
        }
    )
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def idp_browser(idp_app) -> FlaskClient:
    return idp_app.test_client()


@pytest.fixture
def app(tmp_path, monkeypatch, transport, idp_app) -> Flask:
    """A SAML portal whose IdP metadata requests reach the in-process IdP."""
    from portal import create_app

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "portal"))
    for name in ("PORTAL_URL", "IDP_URL", "SF_URL", "PORTAL_DATABASE_URL", "PORTAL_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = create_app(
        {
            "TESTING": True,
            "PORTAL_URL": PORTAL_URL,
            "IDP_URL": IDP_URL,
            "SF_URL": SF_URL,
            "LOGIN_PROTOCOL": "saml",
        }
    )
    if "saml" not in app.blueprints:  # until the factory registers it
        saml.init_app(app)
        app.register_blueprint(saml.bp)
    with app.app_context():
        db.create_all()
    metadata_client = idp_app.test_client()
    transport.route(
        "GET",
        f"{IDP_URL}/saml/metadata",
        lambda _request: (200, metadata_client.get("/saml/metadata").text),
    )
    return app


def local(url: str, base: str) -> str:
    assert url.startswith(base), url
    return url.removeprefix(base)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def form_fields(html: str) -> dict[str, str]:
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    }


def idp_sign_in(idp_browser: FlaskClient, email: str = "ada@speakers.example") -> None:
    page = idp_browser.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    password = email.split("@")[0] + "-demo"
    response = idp_browser.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text


class Round:
    """One SP-initiated login: the portal's redirect, then the IdP's auto-posted Response."""

    def __init__(self, client: FlaskClient, idp_browser: FlaskClient) -> None:
        self.client = client
        self.idp_browser = idp_browser
        self.request_id = ""
        self.relay_state = ""

    def start(self, next_path: str = "/support") -> str:
        response = self.client.get(f"/auth/login?next={next_path}")
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert location.startswith(f"{IDP_URL}/saml/sso/redirect?")
        params = query(location)
        request = etree.fromstring(saml_sp_inflate(params["SAMLRequest"]))
        self.request_id = request.get("ID")
        self.relay_state = params["RelayState"]
        return location

    def idp_answer(self, location: str) -> dict[str, str]:
        html = self.idp_browser.get(local(location, IDP_URL)).text
        return form_fields(html)

    def post(self, fields: dict[str, str]):
        return self.client.post("/saml/acs", data=fields)

    def log_in(self) -> Any:
        idp_sign_in(self.idp_browser)
        return self.post(self.idp_answer(self.start()))


def saml_sp_inflate(value: str) -> bytes:
    return zlib.decompress(base64.b64decode(value), -15)


@pytest.fixture
def round_trip(client, idp_browser) -> Round:
    return Round(client, idp_browser)


def logins(app: Flask) -> list[LoginSession]:
    with app.app_context():
        rows = db.session.scalars(db.select(LoginSession)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def idp_certificate_pem(idp_browser: FlaskClient) -> str:
    root = etree.fromstring(idp_browser.get("/saml/metadata").data)
    body = "".join(root.find(".//ds:X509Certificate", NS).text.split())
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


# --- metadata and key -------------------------------------------------------------------------


def test_the_factory_and_metadata_need_no_idp(app, client, transport) -> None:
    transport.routes.clear()  # the IdP is down
    response = client.get("/saml/metadata")
    assert response.status_code == 200
    assert response.mimetype == "application/samlmetadata+xml"
    root = etree.fromstring(response.data)
    assert root.get("entityID") == SP_ENTITY
    sp = root.find("md:SPSSODescriptor", NS)
    assert sp.get("WantAssertionsSigned") == "true"
    assert sp.get("AuthnRequestsSigned") == "false"
    services = {
        (e.tag.split("}")[1], e.get("Binding").rsplit(":", 1)[1], e.get("Location"))
        for e in sp
        if e.tag.endswith("Service")
    }
    assert services == {
        ("AssertionConsumerService", "HTTP-POST", ACS),
        ("SingleLogoutService", "HTTP-Redirect", f"{PORTAL_URL}/saml/slo"),
        ("SingleLogoutService", "HTTP-POST", f"{PORTAL_URL}/saml/slo"),
    }
    assert [e.text for e in sp.findall("md:NameIDFormat", NS)] == [PERSISTENT]
    assert sp.find("md:KeyDescriptor/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS) is not None
    assert transport.sent == []


def test_the_sp_key_is_made_on_first_start_private_and_dev_only(app) -> None:
    instance = Path(app.instance_path)
    key = instance / saml_sp.KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate((instance / saml_sp.CERT_FILE).read_bytes())
    assert "DEV-ONLY" in cert.subject.rfc4514_string()
    again = saml_sp.load_or_create_credential(instance)
    assert again == (key, instance / saml_sp.CERT_FILE)
    assert x509.load_pem_x509_certificate(again[1].read_bytes()) == cert


def test_login_with_the_idp_down_is_idp_unavailable(client, transport) -> None:
    transport.routes.clear()
    response = client.get("/auth/login?next=/support")
    assert response.status_code == 503
    assert "idp_unavailable" in response.text


# --- the round trip ---------------------------------------------------------------------------


def test_sp_initiated_login_keeps_the_signed_assertion(app, round_trip, idp_browser) -> None:
    location = round_trip.start()
    params = query(location)
    assert set(params) == {"SAMLRequest", "RelayState"}
    assert "/" not in params["RelayState"] and "support" not in params["RelayState"]
    request = etree.fromstring(saml_sp_inflate(params["SAMLRequest"]))
    assert request.find("saml:Issuer", NS).text == SP_ENTITY
    assert request.get("AssertionConsumerServiceURL") == ACS
    idp_sign_in(idp_browser)
    response = round_trip.post(round_trip.idp_answer(location))
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == "/support"

    (login,) = logins(app)
    assert login.protocol == "saml"
    assert (login.saml_name_id, login.saml_name_id_format) == (ADA_ID, PERSISTENT)
    assert login.saml_session_index.startswith("_s")
    assert login.saml_not_on_or_after > time.time()
    with app.app_context():
        user = db.session.get(LoginSession, login.id).user
        assert (user.sub, user.email, user.name) == (ADA_ID, "ada@speakers.example", "Ada Lovelace")
    # The subject token is the Assertion exactly as signed: it verifies on its own.
    xml = base64.urlsafe_b64decode(login.saml_assertion + "=" * (-len(login.saml_assertion) % 4))
    assert "=" not in login.saml_assertion
    result = XMLVerifier().verify(
        xml,
        x509_cert=idp_certificate_pem(idp_browser),
        id_attribute="ID",
        expect_config=SignatureConfiguration(location="./", expect_references=1),
    )
    signed = result.signed_xml
    assert signed.tag == f"{{{NS['saml']}}}Assertion"
    audiences = [a.text for a in signed.iterfind(".//saml:Audience", NS)]
    assert audiences == [SP_ENTITY, SF_URL]


def test_the_same_response_twice_is_refused(round_trip) -> None:
    idp_sign_in(round_trip.idp_browser)
    fields = round_trip.idp_answer(round_trip.start())
    assert round_trip.post(fields).status_code == 302
    again = round_trip.post(fields)
    assert again.status_code == 400
    assert "saml_unknown_request" in again.text


def test_a_replayed_assertion_is_refused_even_with_its_request_restored(round_trip) -> None:
    idp_sign_in(round_trip.idp_browser)
    fields = round_trip.idp_answer(round_trip.start())
    with round_trip.client.session_transaction() as session:
        pending = dict(session[saml.AUTHN_KEY])
    assert round_trip.post(fields).status_code == 302
    with round_trip.client.session_transaction() as session:
        session[saml.AUTHN_KEY] = pending  # as if the cookie had been copied before use
    again = round_trip.post(fields)
    assert again.status_code == 400
    assert "saml_replayed" in again.text


# --- refused Responses, by code ---------------------------------------------------------------


def minted(idp_app: Flask, request_id: str, **overrides: Any) -> str:
    """A Response signed by the IdP's real credential, for `request_id`, with overrides."""
    now = int(time.time())
    spec = AssertionSpec(
        issuer=IDP_ENTITY,
        audience=SP_ENTITY,
        recipient=ACS,
        name_id=ADA_ID,
        name_id_format=PERSISTENT,
        now=now,
        lifetime=300,
        authn_instant=now,
        session_index="_s-minted",
        attributes={"email": ["ada@speakers.example"], "displayName": ["Ada Lovelace"]},
        in_response_to=request_id,
        exchange_audience=SF_URL,
        exchange_recipient=f"{SF_URL}/services/oauth2/token",
    )
    destination = overrides.pop("destination", ACS)
    flags = {
        "sign_assertion": overrides.pop("sign_assertion", True),
        "sign_response": overrides.pop("sign_response", True),
    }
    spec = replace(spec, **overrides)
    with idp_app.app_context():
        credential = idp_app.extensions["mock_idp.saml_credential"]
        xml = signed_response(spec, destination=destination, credential=credential, **flags)
    return base64.b64encode(xml).decode()


def _foreign_key(idp_app: Flask, request_id: str) -> str:
    """Signed by an attacker whose own certificate rides in KeyInfo (checklist 4b.2)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from mock_idp.saml.credential import SigningCredential
    from mock_idp.saml.credential import self_signed_certificate

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker = SigningCredential(key, self_signed_certificate(key, "attacker"))
    with idp_app.app_context():
        real = idp_app.extensions["mock_idp.saml_credential"]
        idp_app.extensions["mock_idp.saml_credential"] = attacker
        try:
            return minted(idp_app, request_id)
        finally:
            idp_app.extensions["mock_idp.saml_credential"] = real


def _error_status(idp_app: Flask, request_id: str) -> str:
    with idp_app.app_context():
        response = build_response(
            issuer=IDP_ENTITY,
            destination=ACS,
            in_response_to=request_id,
            now=int(time.time()),
            status="urn:oasis:names:tc:SAML:2.0:status:Responder",
            sub_status="urn:oasis:names:tc:SAML:2.0:status:NoPassive",
        )
        xml = etree.tostring(sign(response, idp_app.extensions["mock_idp.saml_credential"]))
    return base64.b64encode(xml).decode()


def _tampered(idp_app: Flask, request_id: str) -> str:
    xml = base64.b64decode(minted(idp_app, request_id))
    return base64.b64encode(xml.replace(ADA_ID.encode(), b"00u1grace1demo1spkr0")).decode()


def _wrapped(idp_app: Flask, request_id: str) -> str:
    """A second, unsigned Assertion beside the signed one (signature wrapping)."""
    root = etree.fromstring(base64.b64decode(minted(idp_app, request_id)))
    evil = etree.fromstring(etree.tostring(root.find("saml:Assertion", NS)))
    evil.set("ID", "_evil")
    evil.remove(evil.find("ds:Signature", NS))
    root.insert(2, evil)
    return base64.b64encode(etree.tostring(root)).decode()


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a0 "ha">'
    + "".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    + "]><samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'>&a9;</samlp:Response>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'>&x;</samlp:Response>"
)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


NEGATIVE: list[tuple[str, Any]] = [
    ("saml_missing_message", lambda idp, rid: ""),
    ("saml_malformed", lambda idp, rid: "%%% not base64 %%%"),
    ("saml_malformed", lambda idp, rid: _b64("<samlp:Response")),
    ("saml_too_large", lambda idp, rid: "A" * 200_004),
    ("saml_xml_forbidden", lambda idp, rid: _b64(BILLION_LAUGHS)),
    ("saml_xml_forbidden", lambda idp, rid: _b64(XXE)),
    ("saml_unknown_request", lambda idp, rid: minted(idp, "_never-asked")),
    ("saml_unknown_request", lambda idp, rid: minted(idp, None)),  # unsolicited
    ("saml_invalid_signature", lambda idp, rid: minted(idp, rid, sign_assertion=False)),
    (
        "saml_invalid_signature",
        lambda idp, rid: minted(idp, rid, sign_assertion=False, sign_response=False),
    ),
    ("saml_invalid_signature", _tampered),
    ("saml_invalid_signature", _foreign_key),
    ("saml_invalid_response", _wrapped),
    ("saml_invalid_response", lambda idp, rid: minted(idp, rid, audience="urn:someone-else")),
    ("saml_invalid_destination", lambda idp, rid: minted(idp, rid, destination="http://x/acs")),
    ("saml_invalid_recipient", lambda idp, rid: minted(idp, rid, recipient="http://x/acs")),
    ("saml_expired", lambda idp, rid: minted(idp, rid, now=int(time.time()) - 3600)),
    ("saml_invalid_issuer", lambda idp, rid: minted(idp, rid, issuer="http://evil.test/idp")),
    ("saml_status", _error_status),
]


@pytest.mark.parametrize(
    ("code", "build"), NEGATIVE, ids=[f"{c}-{i}" for i, (c, _) in enumerate(NEGATIVE)]
)
def test_bad_responses_are_login_failed(app, round_trip, idp_app, code, build) -> None:
    round_trip.start()
    encoded = build(idp_app, round_trip.request_id)
    response = round_trip.post({"SAMLResponse": encoded, "RelayState": round_trip.relay_state})
    assert response.status_code == 400, response.text
    assert f"<code>{code}</code>" in response.text or code in response.text
    assert "Location" not in response.headers
    assert logins(app) == []


def test_a_foreign_relay_state_is_refused(app, round_trip, idp_app) -> None:
    round_trip.start()
    encoded = minted(idp_app, round_trip.request_id)
    response = round_trip.post({"SAMLResponse": encoded, "RelayState": "/evil"})
    assert response.status_code == 400
    assert "saml_relay_state" in response.text


def test_a_minted_valid_response_logs_in(app, round_trip, idp_app) -> None:
    """The table's baseline: the same minting without an override is accepted."""
    round_trip.start()
    encoded = minted(idp_app, round_trip.request_id)
    response = round_trip.post({"SAMLResponse": encoded, "RelayState": round_trip.relay_state})
    assert response.status_code == 302, response.text
    assert [login.saml_session_index for login in logins(app)] == ["_s-minted"]


# --- single logout ----------------------------------------------------------------------------


def csrf_token(client: FlaskClient) -> str:
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_idp_initiated_logout_ends_the_portal_login_and_answers(app, round_trip, idp_browser):
    assert round_trip.log_in().status_code == 302
    page = idp_browser.get("/login").text
    assert 'action="/saml/logout"' in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = idp_browser.post("/saml/logout", data={"csrf_token": token})
    location = response.headers["Location"]
    assert location.startswith(f"{PORTAL_URL}/saml/slo?SAMLRequest=")
    assert "Signature=" in location
    response = round_trip.client.get(local(location, PORTAL_URL))
    assert logins(app) == []
    back = response.headers["Location"]
    assert back.startswith(f"{IDP_URL}/saml/slo/redirect?SAMLResponse=")
    done = idp_browser.get(local(back, IDP_URL))
    assert done.status_code == 200, done.text
    assert "Speaker Portal: signed out" in done.text


def test_an_unsigned_logout_request_is_refused(app, round_trip) -> None:
    assert round_trip.log_in().status_code == 302
    (login,) = logins(app)
    xml = (
        f'<samlp:LogoutRequest xmlns:samlp="{NS["samlp"]}" xmlns:saml="{NS["saml"]}" ID="_x"'
        f' Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>{IDP_ENTITY}'
        f'</saml:Issuer><saml:NameID Format="{PERSISTENT}">{ADA_ID}</saml:NameID>'
        f"<samlp:SessionIndex>{login.saml_session_index}</samlp:SessionIndex>"
        "</samlp:LogoutRequest>"
    ).encode()
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    value = base64.b64encode(deflater.compress(xml) + deflater.flush()).decode()
    response = round_trip.client.get("/saml/slo", query_string={"SAMLRequest": value})
    assert response.status_code == 400
    assert "saml_unsigned" in response.text
    assert len(logins(app)) == 1


def test_sp_initiated_logout_goes_through_the_idp_and_comes_home(app, round_trip, idp_browser):
    assert round_trip.log_in().status_code == 302
    response = round_trip.client.post(
        "/auth/logout", data={"csrf_token": csrf_token(round_trip.client)}
    )
    assert logins(app) == []
    location = response.headers["Location"]
    assert location.startswith(f"{IDP_URL}/saml/slo/redirect?SAMLRequest=")
    request = etree.fromstring(saml_sp_inflate(query(location)["SAMLRequest"]))
    assert request.find("saml:NameID", NS).text == ADA_ID
    answer = idp_browser.get(local(location, IDP_URL))
    back = answer.headers["Location"]
    assert back.startswith(f"{PORTAL_URL}/saml/slo?SAMLResponse=")
    home = round_trip.client.get(local(back, PORTAL_URL))
    assert home.status_code == 303
    assert home.headers["Location"] == "/"
    replay = round_trip.client.get(local(back, PORTAL_URL))
    assert replay.status_code == 400
    assert "saml_unknown_request" in replay.text
    with app.app_context():
        kinds = db.session.scalars(select(InspectorStep.kind).order_by(InspectorStep.id)).all()
    assert kinds[:2] == ["saml_authn_request", "saml_response"]
    assert "saml_logout_request" in kinds and "saml_logout_response" in kinds
