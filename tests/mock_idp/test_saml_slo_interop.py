"""Interop: single logout with pysaml2 as a real SP that signs its requests (xmlsec1), next to
the portal's registration: pysaml2 takes part in a logout the portal starts, and starts one."""

from __future__ import annotations

import base64
import os
import shutil
import zlib
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from mock_idp.models import db
from mock_idp.saml import sp as registry
from tests.mock_idp import idp_session

saml2 = pytest.importorskip("saml2")
from saml2 import BINDING_HTTP_POST  # noqa: E402
from saml2 import BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.client import Saml2Client  # noqa: E402
from saml2.config import SPConfig  # noqa: E402
from saml2.xmldsig import SIG_RSA_SHA256  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which("xmlsec1") is None and not os.environ.get("CI"), reason="needs Debian's xmlsec1"
)

IDP = "http://127.0.0.1:8001"
IDP_ENTITY = f"{IDP}/saml/metadata"
PORTAL_ENTITY = "http://127.0.0.1:8000/saml/metadata"
PORTAL_SLO = "http://127.0.0.1:8000/saml/slo"
PY_ENTITY = "http://127.0.0.1:8600/metadata"
PY_ACS = "http://127.0.0.1:8600/acs"
PY_SLO = "http://127.0.0.1:8600/slo"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
ADA_ID = "00u1ada1demo1speaker"  # the portal's persistent NameID for Ada
NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
}


@pytest.fixture
def pysaml2_sp(app, client, tmp_path) -> Saml2Client:
    """pysaml2 with its own key, registered at the IdP as an SP that must sign."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pysaml2 test SP")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "sp.crt").write_bytes(cert_pem)
    (tmp_path / "sp.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    with app.app_context():
        entry = {
            "entity_id": PY_ENTITY,
            "name": "pysaml2 SP",
            "acs_urls": [PY_ACS],
            "slo_url": PY_SLO,
            "slo_binding": "redirect",
            "want_requests_signed": True,
            "certificate": cert_pem.decode(),
        }
        registry.seed([entry], app.config)
        db.session.commit()
    config = SPConfig()
    config.load(
        {
            "entityid": PY_ENTITY,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": str(tmp_path / "sp.key"),
            "cert_file": str(tmp_path / "sp.crt"),
            "metadata": {"inline": [client.get("/saml/metadata").text]},
            "allow_unknown_attributes": True,
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(PY_ACS, BINDING_HTTP_POST)],
                        "single_logout_service": [(PY_SLO, BINDING_HTTP_REDIRECT)],
                    },
                    "authn_requests_signed": True,
                    "logout_requests_signed": True,
                    "want_response_signed": True,
                    "name_id_format": EMAIL,
                }
            },
        }
    )
    return Saml2Client(config)


def params(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def local(location: str) -> str:
    assert location.startswith(IDP), location
    return location.removeprefix(IDP)


def sign_in_everywhere(client, flow, sp: Saml2Client):
    """Ada signs in to pysaml2 (signed AuthnRequest) and to the portal: pysaml2's NameID."""
    flow.login("ada@speakers.example", "ada-demo")
    request_id, info = sp.prepare_for_authenticate(
        entityid=IDP_ENTITY, binding=BINDING_HTTP_REDIRECT, sign=True, sigalg=SIG_RSA_SHA256
    )
    response = client.get(local(dict(info["headers"])["Location"]))
    assert response.status_code == 200, response.text
    value = response.text.split('name="SAMLResponse" value="')[1].split('"')[0]
    authn = sp.parse_authn_request_response(value, BINDING_HTTP_POST, outstanding={request_id: "/"})
    html = client.get("/saml/idp-init", query_string={"sp": PORTAL_ENTITY}).text
    portal_xml = base64.b64decode(html.split('name="SAMLResponse" value="')[1].split('"')[0])
    index = etree.fromstring(portal_xml).find(".//saml:AuthnStatement", NS).get("SessionIndex")
    return authn.name_id, index


def deflate(xml: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


def inflate(value: str) -> etree._Element:
    return etree.fromstring(zlib.decompress(base64.b64decode(value), -15))


def signed_in(client) -> bool:
    return idp_session.signed_in_as(client) is not None


def test_pysaml2_takes_part_in_a_logout_the_portal_starts(client, flow, pysaml2_sp):
    name_id, index = sign_in_everywhere(client, flow, pysaml2_sp)
    portal_request = (
        f'<samlp:LogoutRequest xmlns:samlp="{NS["samlp"]}" xmlns:saml="{NS["saml"]}" ID="_p1"'
        f' Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>{PORTAL_ENTITY}'
        f'</saml:Issuer><saml:NameID Format="{PERSISTENT}">{ADA_ID}</saml:NameID>'
        f"<samlp:SessionIndex>{index}</samlp:SessionIndex></samlp:LogoutRequest>"
    ).encode()
    response = client.get(
        "/saml/slo/redirect", query_string={"SAMLRequest": deflate(portal_request)}
    )
    location = response.headers["Location"]
    assert location.startswith(PY_SLO + "?")
    query = params(location)
    # pysaml2 checks the IdP's query signature against the IdP metadata, then answers (signed).
    http_args = pysaml2_sp.handle_logout_request(
        query["SAMLRequest"],
        name_id,
        BINDING_HTTP_REDIRECT,
        sign=True,
        sign_alg=SIG_RSA_SHA256,
        sigalg=query["SigAlg"],
        signature=query["Signature"],
    )
    back = dict(http_args["headers"])["Location"]
    assert "Signature=" in back
    response = client.get(local(back))
    assert response.headers["Location"].startswith(PORTAL_SLO + "?SAMLResponse=")
    answer = inflate(params(response.headers["Location"])["SAMLResponse"])
    assert answer.get("InResponseTo") == "_p1"
    codes = [e.get("Value") for e in answer.iter(f"{{{NS['samlp']}}}StatusCode")]
    assert codes == ["urn:oasis:names:tc:SAML:2.0:status:Success"]
    assert not signed_in(client)


def test_pysaml2_starts_a_signed_logout_that_reaches_the_portal(client, flow, pysaml2_sp):
    name_id, _ = sign_in_everywhere(client, flow, pysaml2_sp)
    started = pysaml2_sp.global_logout(name_id, sign=True, sign_alg=SIG_RSA_SHA256)
    binding, http_info = started[IDP_ENTITY]
    assert binding == BINDING_HTTP_REDIRECT
    response = client.get(local(dict(http_info["headers"])["Location"]))
    location = response.headers["Location"]
    assert location.startswith(PORTAL_SLO + "?SAMLRequest=")
    to_portal = inflate(params(location)["SAMLRequest"])
    assert to_portal.find("saml:NameID", NS).text == ADA_ID
    portal_answer = (
        f'<samlp:LogoutResponse xmlns:samlp="{NS["samlp"]}" xmlns:saml="{NS["saml"]}"'
        f' ID="_pr1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"'
        f' InResponseTo="{to_portal.get("ID")}"><saml:Issuer>{PORTAL_ENTITY}</saml:Issuer>'
        '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
        "</samlp:Status></samlp:LogoutResponse>"
    ).encode()
    response = client.get(
        "/saml/slo/redirect", query_string={"SAMLResponse": deflate(portal_answer)}
    )
    location = response.headers["Location"]
    assert location.startswith(PY_SLO + "?SAMLResponse=")
    result = pysaml2_sp.parse_logout_request_response(
        params(location)["SAMLResponse"], BINDING_HTTP_REDIRECT
    )
    assert result.status_ok()
    assert not signed_in(client)


def test_an_unsigned_request_from_pysaml2_is_refused(client, flow, pysaml2_sp):
    flow.login("ada@speakers.example", "ada-demo")
    _, info = pysaml2_sp.prepare_for_authenticate(
        entityid=IDP_ENTITY, binding=BINDING_HTTP_REDIRECT, sign=False
    )
    response = client.get(local(dict(info["headers"])["Location"]))
    assert response.status_code == 400
    assert "must be signed" in response.text
