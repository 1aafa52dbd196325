"""SAML metadata, SP-initiated SSO over both bindings, IdP-initiated SSO, the shared IdP session,
and the signed Response, checked with an independent signxml verifier."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import UTC
from datetime import datetime
from html import unescape

import pytest
from cryptography import x509
from lxml import etree
from signxml import XMLVerifier
from signxml.verifier import SignatureConfiguration

from mock_idp.models import db
from mock_idp.saml.sp import ServiceProvider

IDP_URL = "http://127.0.0.1:8001"
PORTAL_URL = "http://127.0.0.1:8000"
IDP_ENTITY = f"{IDP_URL}/saml/metadata"
SP_ENTITY = f"{PORTAL_URL}/saml/metadata"
ACS = f"{PORTAL_URL}/saml/acs"
NS = {
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
}
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def authn_request(
    request_id: str = "_req1",
    issuer: str = SP_ENTITY,
    acs: str | None = ACS,
    extra: str = "",
    destination: str | None = f"{IDP_URL}/saml/sso/redirect",
) -> bytes:
    """An AuthnRequest as an SP would write it."""
    attrs = f' AssertionConsumerServiceURL="{acs}"' if acs else ""
    attrs += f' Destination="{destination}"' if destination else ""
    return (
        f'<samlp:AuthnRequest xmlns:samlp="{NS["samlp"]}" xmlns:saml="{NS["saml"]}"'
        f' ID="{request_id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"{attrs}{extra}>'
        f"<saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>"
    ).encode()


def deflate(xml: bytes) -> str:
    """HTTP-Redirect encoding, written independently of the app."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


def form_fields(html: str) -> dict[str, str]:
    """Hidden inputs of the auto-post form."""
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    }


def form_action(html: str) -> str:
    match = re.search(r'<form method="post" action="([^"]+)" id="saml-post">', html)
    assert match, html
    return unescape(match.group(1))


def idp_certificate(client) -> x509.Certificate:
    """The signing certificate, read from the published metadata only."""
    root = etree.fromstring(client.get("/saml/metadata").data)
    text = root.find(".//ds:X509Certificate", NS).text
    return x509.load_der_x509_certificate(base64.b64decode(text))


def verify(element: etree._Element, cert: x509.Certificate) -> etree._Element:
    """Verify the element's own enveloped signature with the pinned cert; the signed element."""
    config = SignatureConfiguration(location="./", expect_references=1)
    result = XMLVerifier().verify(element, x509_cert=cert, id_attribute="ID", expect_config=config)
    return result.signed_xml


def login(flow, email="ada@speakers.example", password="ada-demo"):
    flow.login(email, password)


def sso_redirect(client, xml: bytes, relay_state: str | None = "rs-42"):
    params = {"SAMLRequest": deflate(xml)}
    if relay_state is not None:
        params["RelayState"] = relay_state
    return client.get("/saml/sso/redirect", query_string=params)


def test_metadata_publishes_entity_certificate_formats_and_endpoints(client):
    response = client.get("/saml/metadata", headers={"Host": "evil.example"})
    assert response.status_code == 200
    assert response.mimetype == "application/samlmetadata+xml"
    root = etree.fromstring(response.data)
    assert root.get("entityID") == IDP_ENTITY
    idp = root.find("md:IDPSSODescriptor", NS)
    assert idp.get("protocolSupportEnumeration") == "urn:oasis:names:tc:SAML:2.0:protocol"
    assert idp.find("md:KeyDescriptor", NS).get("use") == "signing"
    assert [e.text for e in idp.findall("md:NameIDFormat", NS)] == [
        EMAIL_FORMAT,
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    ]
    redirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    post = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    services = {
        (e.tag.split("}")[1], e.get("Binding")): e.get("Location")
        for e in idp
        if e.tag.endswith("Service")
    }
    assert services == {
        ("SingleLogoutService", redirect): f"{IDP_URL}/saml/slo/redirect",
        ("SingleLogoutService", post): f"{IDP_URL}/saml/slo/post",
        ("SingleSignOnService", redirect): f"{IDP_URL}/saml/sso/redirect",
        ("SingleSignOnService", post): f"{IDP_URL}/saml/sso/post",
    }


def test_certificate_is_for_the_idp_rsa_key_and_survives_restart(app, client):
    cert = idp_certificate(client)
    keys = app.extensions["mock_idp.keys"]
    assert cert.public_key().public_numbers() == keys._public_key.public_numbers()
    assert cert.issuer == cert.subject
    from mock_idp import create_app

    again = create_app({"TESTING": True, "PASSWORD_HASH_PROFILE": "cheap"})
    assert idp_certificate(again.test_client()) == cert


def test_redirect_binding_asks_for_login_then_answers_with_signed_response(client, flow):
    response = sso_redirect(client, authn_request())
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    login(flow)
    response = client.get("/saml/sso/resume")
    assert response.status_code == 200
    assert form_action(response.text) == ACS
    fields = form_fields(response.text)
    assert fields["RelayState"] == "rs-42"
    assert '<button type="submit">Continue</button>' in response.text
    assert 'src="/static/saml_post.js"' in response.text
    assert "form-action " + ACS in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    check_response(client, base64.b64decode(fields["SAMLResponse"]), in_response_to="_req1")


def check_response(client, xml: bytes, in_response_to: str | None) -> etree._Element:
    """Every rule of Profiles §4.1.4.2 this IdP promises, against the metadata certificate."""
    cert = idp_certificate(client)
    root = etree.fromstring(xml)
    assert root.tag == f"{{{NS['samlp']}}}Response"
    assert root.get("Destination") == ACS
    assert root.get("InResponseTo") == in_response_to
    assert root.find("saml:Issuer", NS).text == IDP_ENTITY
    status = root.find("samlp:Status/samlp:StatusCode", NS).get("Value")
    assert status == "urn:oasis:names:tc:SAML:2.0:status:Success"
    assert verify(root, cert).get("ID") == root.get("ID")
    assertions = root.findall("saml:Assertion", NS)
    assert len(assertions) == 1
    signed = verify(assertions[0], cert)
    assert signed.get("ID") == assertions[0].get("ID")
    sig = assertions[0].find("ds:Signature", NS)
    assert sig.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm") == (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    )
    assert sig.find("ds:SignedInfo/ds:CanonicalizationMethod", NS).get("Algorithm") == (
        "http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    assert signed.find("saml:Issuer", NS).text == IDP_ENTITY
    name_id = signed.find("saml:Subject/saml:NameID", NS)
    assert (name_id.get("Format"), name_id.text) == (PERSISTENT, "00u1ada1demo1speaker")
    confirmation = signed.find("saml:Subject/saml:SubjectConfirmation", NS)
    assert confirmation.get("Method") == "urn:oasis:names:tc:SAML:2.0:cm:bearer"
    data = confirmation.find("saml:SubjectConfirmationData", NS)
    assert data.get("Recipient") == ACS
    assert data.get("InResponseTo") == in_response_to
    conditions = signed.find("saml:Conditions", NS)
    assert conditions.find("saml:AudienceRestriction/saml:Audience", NS).text == SP_ENTITY
    not_before = _time(conditions.get("NotBefore"))
    assert (_time(conditions.get("NotOnOrAfter")) - not_before).total_seconds() == 300
    assert data.get("NotOnOrAfter") == conditions.get("NotOnOrAfter")
    authn = signed.find("saml:AuthnStatement", NS)
    assert authn.get("SessionIndex")
    attributes = {
        a.get("Name"): [v.text for v in a.findall("saml:AttributeValue", NS)]
        for a in signed.findall("saml:AttributeStatement/saml:Attribute", NS)
    }
    assert attributes == {
        "email": ["ada@speakers.example"],
        "displayName": ["Ada Lovelace"],
        "firstName": ["Ada"],
        "lastName": ["Lovelace"],
        "username": ["ada@speakers.example"],
        "company": ["Analytical Engines Ltd"],
        "speakerId": ["SPK-1815"],
        "talks": ["Notes on the Analytical Engine"],
    }
    return signed


def _time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_post_binding_with_oidc_session_does_not_ask_again(client, flow):
    flow.tokens()  # signed in through OIDC
    xml = authn_request("_post1", destination=f"{IDP_URL}/saml/sso/post")
    response = client.post(
        "/saml/sso/post",
        data={"SAMLRequest": base64.b64encode(xml).decode(), "RelayState": "r"},
    )
    assert response.status_code == 200
    fields = form_fields(response.text)
    assert fields["RelayState"] == "r"
    check_response(client, base64.b64decode(fields["SAMLResponse"]), in_response_to="_post1")


def test_idp_initiated_sso_has_no_in_response_to(client, flow):
    login(flow)
    response = client.get("/saml/idp-init", query_string={"sp": SP_ENTITY})
    assert response.status_code == 200
    fields = form_fields(response.text)
    assert "RelayState" not in fields
    check_response(client, base64.b64decode(fields["SAMLResponse"]), in_response_to=None)


def test_default_acs_is_used_when_the_request_names_none(client, flow):
    login(flow)
    response = sso_redirect(client, authn_request(acs=None))
    assert form_action(response.text) == ACS


def test_force_authn_requires_a_fresh_sign_in(client, flow):
    login(flow)
    response = sso_redirect(client, authn_request(extra=' ForceAuthn="true"'))
    assert response.headers["Location"] == "/login"
    login(flow)
    assert client.get("/saml/sso/resume").status_code == 200


def test_is_passive_without_session_answers_no_passive(client):
    response = sso_redirect(client, authn_request(extra=' IsPassive="true"'))
    assert response.status_code == 200
    root = etree.fromstring(base64.b64decode(form_fields(response.text)["SAMLResponse"]))
    codes = [e.get("Value") for e in root.iter(f"{{{NS['samlp']}}}StatusCode")]
    assert codes == [
        "urn:oasis:names:tc:SAML:2.0:status:Responder",
        "urn:oasis:names:tc:SAML:2.0:status:NoPassive",
    ]
    assert root.find("saml:Assertion", NS) is None
    verify(root, idp_certificate(client))


@pytest.mark.parametrize(("sign_response", "sign_assertion"), [(True, False), (False, True)])
def test_signing_follows_the_sp_setting(app, client, flow, sign_response, sign_assertion):
    with app.app_context():
        sp = db.session.get(ServiceProvider, SP_ENTITY)
        sp.sign_response, sp.sign_assertion = sign_response, sign_assertion
        db.session.commit()
    login(flow)
    response = sso_redirect(client, authn_request())
    root = etree.fromstring(base64.b64decode(form_fields(response.text)["SAMLResponse"]))
    assert (root.find("ds:Signature", NS) is not None) is sign_response
    assertion = root.find("saml:Assertion", NS)
    assert (assertion.find("ds:Signature", NS) is not None) is sign_assertion


def test_persistent_nameid_is_the_user_id(app, client, flow):
    with app.app_context():
        db.session.get(ServiceProvider, SP_ENTITY).nameid_format = "persistent"
        db.session.commit()
    login(flow)
    response = sso_redirect(client, authn_request())
    root = etree.fromstring(base64.b64decode(form_fields(response.text)["SAMLResponse"]))
    name_id = root.find("saml:Assertion/saml:Subject/saml:NameID", NS)
    assert name_id.get("Format") == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    assert name_id.text == "00u1ada1demo1speaker"


BOMB = b"<a>" + b"x" * 5_000_000 + b"</a>"
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<samlp:AuthnRequest xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'>&x;"
    b"</samlp:AuthnRequest>"
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>'
)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (authn_request(issuer="https://unknown.example/sp"), "not registered here"),
        (authn_request(acs="https://evil.example/acs"), "AssertionConsumerServiceURL is not"),
        (authn_request(destination="https://other-idp.example/sso"), "Destination is not"),
        (authn_request(request_id=""), "has no ID"),
        (authn_request(extra=' AssertionConsumerServiceIndex="0"'), "indexes are not"),
        (
            authn_request(
                extra=' ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"'
            ),
            "HTTP-POST only",
        ),
        (b"<not-xml", "not well-formed"),
        (b"<samlp:LogoutRequest xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'/>", "Expected"),
        (XXE, "must not contain a DTD"),
        (LAUGHS, "must not contain a DTD"),
        (BOMB, "too large"),
    ],
)
def test_bad_requests_get_an_error_page_never_a_post(client, xml, message):
    response = sso_redirect(client, xml)
    assert response.status_code in (400, 404)
    assert message in response.text
    assert "SAMLResponse" not in response.text
    assert "urn:oasis:names:tc:SAML:2.0:status:Requester" in response.text


def test_nameid_policy_other_than_registered_is_refused(client):
    policy = (
        f'<samlp:NameIDPolicy xmlns:samlp="{NS["samlp"]}"'
        ' Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient"/>'
    )
    xml = authn_request().replace(
        b"</samlp:AuthnRequest>", policy.encode() + b"</samlp:AuthnRequest>"
    )
    response = sso_redirect(client, xml)
    assert response.status_code == 400
    assert "NameID format is not the one registered" in response.text


def test_relay_state_over_80_bytes_is_refused(client):
    response = sso_redirect(client, authn_request(), relay_state="r" * 81)
    assert response.status_code == 400
    assert "RelayState must not exceed 80 bytes." in response.text


def test_post_binding_rejects_oversized_base64(client):
    response = client.post("/saml/sso/post", data={"SAMLRequest": "A" * 100_004})
    assert response.status_code == 400
    assert "too large" in response.text


def test_resume_without_pending_request_is_an_error_page(client):
    response = client.get("/saml/sso/resume")
    assert response.status_code == 400
    assert "There is no sign-in in progress." in response.text


def test_idp_init_for_unknown_sp_is_404(client, flow):
    login(flow)
    response = client.get("/saml/idp-init", query_string={"sp": "urn:nobody"})
    assert response.status_code == 404
