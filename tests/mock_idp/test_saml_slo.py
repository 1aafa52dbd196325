"""Single logout over HTTP-Redirect and HTTP-POST ends the IdP session and answers a signed
LogoutResponse."""

from __future__ import annotations

import base64
import re
import zlib
from html import unescape
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from lxml import etree
from signxml import XMLVerifier
from signxml.verifier import SignatureConfiguration

PORTAL_URL = "http://127.0.0.1:8000"
SP_ENTITY = f"{PORTAL_URL}/saml/metadata"
SLO_URL = f"{PORTAL_URL}/saml/slo"
IDP_ENTITY = "http://127.0.0.1:8001/saml/metadata"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
NS = {"samlp": SAMLP, "saml": "urn:oasis:names:tc:SAML:2.0:assertion"}


def logout_request(issuer: str = SP_ENTITY, tag: str = "LogoutRequest") -> bytes:
    return (
        f'<samlp:{tag} xmlns:samlp="{SAMLP}" xmlns:saml="{NS["saml"]}" ID="_lo1"'
        ' Version="2.0" IssueInstant="2026-01-01T00:00:00Z">'
        f"<saml:Issuer>{issuer}</saml:Issuer>"
        '<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">'
        f"ada@speakers.example</saml:NameID></samlp:{tag}>"
    ).encode()


def deflate(xml: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


def certificate(client) -> x509.Certificate:
    root = etree.fromstring(client.get("/saml/metadata").data)
    text = root.find(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate").text
    return x509.load_der_x509_certificate(base64.b64decode(text))


def signed_in(client) -> bool:
    with client.session_transaction() as sess:
        return "uid" in sess


def check_logout_response(root: etree._Element) -> None:
    assert root.tag == f"{{{SAMLP}}}LogoutResponse"
    assert root.get("InResponseTo") == "_lo1"
    assert root.get("Destination") == SLO_URL
    assert root.find("saml:Issuer", NS).text == IDP_ENTITY
    status = root.find("samlp:Status/samlp:StatusCode", NS).get("Value")
    assert status == "urn:oasis:names:tc:SAML:2.0:status:Success"


def test_redirect_logout_ends_session_and_signs_the_query(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    response = client.get(
        "/saml/slo/redirect",
        query_string={"SAMLRequest": deflate(logout_request()), "RelayState": "bye"},
    )
    assert response.status_code == 302
    assert not signed_in(client)
    location = response.headers["Location"]
    assert location.startswith(SLO_URL + "?SAMLResponse=")
    raw_query = urlsplit(location).query
    params = {k: v[0] for k, v in parse_qs(raw_query).items()}
    assert params["RelayState"] == "bye"
    assert params["SigAlg"] == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    signed_part = raw_query.split("&Signature=")[0]  # Bindings §3.4.4.1: as sent, in order
    certificate(client).public_key().verify(
        base64.b64decode(params["Signature"]),
        signed_part.encode(),
        PKCS1v15(),
        hashes.SHA256(),
    )
    xml = zlib.decompress(base64.b64decode(params["SAMLResponse"]), -15)
    root = etree.fromstring(xml)
    check_logout_response(root)
    assert root.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is None


def test_post_logout_ends_session_and_posts_a_signed_response(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    response = client.post(
        "/saml/slo/post",
        data={"SAMLRequest": base64.b64encode(logout_request()).decode()},
    )
    assert response.status_code == 200
    assert not signed_in(client)
    assert f'action="{SLO_URL}"' in response.text
    value = re.search(r'name="SAMLResponse" value="([^"]+)"', response.text).group(1)
    root = etree.fromstring(base64.b64decode(unescape(value)))
    check_logout_response(root)
    config = SignatureConfiguration(location="./")
    result = XMLVerifier().verify(
        root, x509_cert=certificate(client), id_attribute="ID", expect_config=config
    )
    assert result.signed_xml.get("ID") == root.get("ID")


@pytest.mark.parametrize(
    ("xml", "status", "message"),
    [
        (logout_request(issuer="urn:nobody"), 404, "not registered here"),
        (logout_request(tag="LogoutResponse"), 400, "Expected a samlp:LogoutRequest."),
    ],
)
def test_bad_logout_requests_keep_the_session(client, flow, xml, status, message):
    flow.login("ada@speakers.example", "ada-demo")
    response = client.get("/saml/slo/redirect", query_string={"SAMLRequest": deflate(xml)})
    assert response.status_code == status
    assert message in response.text
    assert signed_in(client)
