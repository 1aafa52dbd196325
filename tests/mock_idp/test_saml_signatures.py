"""Signed AuthnRequests and LogoutRequests: Redirect query signatures over the octets as received
(Bindings §3.4.4.1) and POST XML signatures, checked with the SP's registered certificate only."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

from mock_idp.models import db
from mock_idp.saml.sp import ServiceProvider
from tests.mock_idp import idp_session

IDP_URL = "http://127.0.0.1:8001"
SP_ENTITY = "http://127.0.0.1:8000/saml/metadata"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def keypair(name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert


@pytest.fixture(scope="module")
def sp_keys():
    return keypair("test SP")


@pytest.fixture(scope="module")
def foreign_keys():
    return keypair("attacker")


@pytest.fixture
def signing_sp(app, sp_keys):
    """The portal SP, registered with a certificate and required to sign."""
    with app.app_context():
        sp = db.session.get(ServiceProvider, SP_ENTITY)
        sp.certificate = sp_keys[1].public_bytes(serialization.Encoding.PEM).decode()
        sp.want_requests_signed = True
        db.session.commit()
    return sp_keys


def authn_request(request_id: str = "_sig1", destination: str = "/saml/sso/redirect") -> bytes:
    return (
        f'<samlp:AuthnRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{request_id}"'
        f' Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="{IDP_URL}{destination}">'
        f"<saml:Issuer>{SP_ENTITY}</saml:Issuer></samlp:AuthnRequest>"
    ).encode()


def deflate(xml: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


def signed_query(
    key: rsa.RSAPrivateKey,
    xml: bytes,
    relay_state: str | None = "rs",
    sig_alg: str = RSA_SHA256,
    encode=lambda v: quote(v, safe=""),
    algorithm: hashes.HashAlgorithm | None = None,
) -> str:
    """A Redirect query signed as Bindings §3.4.4.1 says, with the given URL-encoding."""
    parts = [f"SAMLRequest={encode(deflate(xml))}"]
    if relay_state is not None:
        parts.append(f"RelayState={encode(relay_state)}")
    parts.append(f"SigAlg={encode(sig_alg)}")
    octets = "&".join(parts)
    signature = key.sign(octets.encode(), PKCS1v15(), algorithm or hashes.SHA256())
    return octets + "&Signature=" + encode(base64.b64encode(signature).decode())


def lowercase_hex(value: str) -> str:
    """A legal but unusual URL-encoding: lowercase hex escapes."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(value, safe=""))


def test_a_correctly_signed_redirect_request_is_accepted(client, signing_sp):
    key, _ = signing_sp
    response = client.get("/saml/sso/redirect?" + signed_query(key, authn_request()))
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_the_signature_is_checked_over_the_octets_as_received(client, signing_sp):
    key, _ = signing_sp
    query = signed_query(key, authn_request(), relay_state="a/b c", encode=lowercase_hex)
    assert "%2f" in query  # re-encoding it would give %2F and break the signature
    response = client.get("/saml/sso/redirect?" + query)
    assert response.status_code == 302, response.text


def test_a_signature_without_relay_state_covers_only_request_and_sigalg(client, signing_sp):
    key, _ = signing_sp
    response = client.get("/saml/sso/redirect?" + signed_query(key, authn_request(), None))
    assert response.status_code == 302


def _tampered_relay_state(key, *_):
    return signed_query(key, authn_request()).replace("RelayState=rs", "RelayState=rt")


@pytest.mark.parametrize(
    ("make_query", "message"),
    [
        (lambda key, foreign: "SAMLRequest=" + quote(deflate(authn_request())), "must be signed"),
        (_tampered_relay_state, "signature is not valid"),
        (lambda key, foreign: signed_query(foreign, authn_request()), "signature is not valid"),
        (
            lambda key, foreign: signed_query(
                key,
                authn_request(),
                sig_alg="http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                algorithm=hashes.SHA1(),
            ),
            "Only SigAlg RSA-SHA256",
        ),
        (
            lambda key, foreign: signed_query(key, authn_request()).split("&Signature=")[0],
            "needs both SigAlg and Signature",
        ),
        (
            lambda key, foreign: signed_query(key, authn_request()) + "&RelayState=again",
            "must appear only once",
        ),
    ],
)
def test_bad_redirect_signatures_get_an_error_page(
    client, signing_sp, foreign_keys, make_query, message
):
    response = client.get("/saml/sso/redirect?" + make_query(signing_sp[0], foreign_keys[0]))
    assert response.status_code == 400
    assert message in response.text
    assert "SAMLResponse" not in response.text and "Location" not in response.headers


def xml_signed(key, cert, xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    signed = XMLSigner(
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    ).sign(root, key=key, cert=[cert])
    return etree.tostring(signed)


def post(client, xml: bytes):
    return client.post("/saml/sso/post", data={"SAMLRequest": base64.b64encode(xml).decode()})


def test_a_correctly_signed_post_request_is_accepted(client, signing_sp):
    key, cert = signing_sp
    response = post(client, xml_signed(key, cert, authn_request(destination="/saml/sso/post")))
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


@pytest.mark.parametrize(
    ("make_xml", "message"),
    [
        (lambda mine, foreign: authn_request(destination="/saml/sso/post"), "XML signature"),
        # A foreign key with its own certificate in KeyInfo: only the registered one counts.
        (
            lambda mine, foreign: xml_signed(*foreign, authn_request(destination="/saml/sso/post")),
            "signature is not valid",
        ),
        (
            lambda mine, foreign: xml_signed(
                *mine, authn_request(destination="/saml/sso/post")
            ).replace(b'ID="_sig1"', b'ID="_sig2"'),
            "signature is not valid",
        ),
    ],
)
def test_bad_post_signatures_get_an_error_page(client, signing_sp, foreign_keys, make_xml, message):
    response = post(client, make_xml(signing_sp, foreign_keys))
    assert response.status_code == 400
    assert message in response.text
    assert "SAMLResponse" not in response.text


def test_a_logout_request_that_must_be_signed_but_is_not_keeps_the_session(
    client, flow, signing_sp
):
    flow.login("ada@speakers.example", "ada-demo")
    xml = (
        f'<samlp:LogoutRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="_lo"'
        ' Version="2.0" IssueInstant="2026-01-01T00:00:00Z">'
        f"<saml:Issuer>{SP_ENTITY}</saml:Issuer>"
        "<saml:NameID>ada@speakers.example</saml:NameID></samlp:LogoutRequest>"
    ).encode()
    response = client.get("/saml/slo/redirect", query_string={"SAMLRequest": deflate(xml)})
    assert response.status_code == 400
    assert "must be signed" in response.text
    assert "Location" not in response.headers
    assert idp_session.signed_in_as(client) is not None


def test_the_idp_wide_flag_requires_a_certificate_and_says_so_in_metadata(app, client):
    root = etree.fromstring(client.get("/saml/metadata").data)
    idp = root.find("{urn:oasis:names:tc:SAML:2.0:metadata}IDPSSODescriptor")
    assert idp.get("WantAuthnRequestsSigned") == "false"
    app.config["SAML_WANT_REQUESTS_SIGNED"] = True
    root = etree.fromstring(client.get("/saml/metadata").data)
    idp = root.find("{urn:oasis:names:tc:SAML:2.0:metadata}IDPSSODescriptor")
    assert idp.get("WantAuthnRequestsSigned") == "true"
    response = client.get(
        "/saml/sso/redirect", query_string={"SAMLRequest": deflate(authn_request())}
    )
    assert response.status_code == 400
    assert "has no certificate registered" in response.text
