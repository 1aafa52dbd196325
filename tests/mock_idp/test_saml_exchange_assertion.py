"""The portal's assertion serves two relying parties: the portal's ACS (browser SSO) and
Salesforce's token endpoint (RFC 8693 subject token of type saml2, RFC 7522 §3).

One AudienceRestriction lists both audiences (SAML Core §2.5.1.4) and a second bearer
SubjectConfirmation, without InResponseTo, names the token endpoint (Core §2.4.1.2: any one
confirmation confirms). mock_sf's own handler, built in-process, accepts the very Assertion the
IdP signed for the portal.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest
from flask import Flask
from lxml import etree
from signxml import XMLVerifier
from signxml.verifier import SignatureConfiguration

from mock_idp.saml.assertion import AssertionSpec
from mock_idp.saml.assertion import build_assertion
from mock_sf import create_app as create_sf
from mock_sf.models import User as SfUser
from mock_sf.models import db as sf_db
from mock_sf.oauth.keys import generate_jwk

IDP_URL = "http://127.0.0.1:8001"
PORTAL_URL = "http://127.0.0.1:8000"
SF_URL = "http://127.0.0.1:8002"
SF_TOKEN = f"{SF_URL}/services/oauth2/token"
SP_ENTITY = f"{PORTAL_URL}/saml/metadata"
ACS = f"{PORTAL_URL}/saml/acs"
ADA_ID = "00u1ada1demo1speaker"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
NS = {
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
}


def authn_request(request_id: str = "_req-exchange") -> str:
    xml = (
        f'<samlp:AuthnRequest xmlns:samlp="{NS["samlp"]}" xmlns:saml="{NS["saml"]}"'
        f' ID="{request_id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"'
        f' AssertionConsumerServiceURL="{ACS}"><saml:Issuer>{SP_ENTITY}</saml:Issuer>'
        "</samlp:AuthnRequest>"
    ).encode()
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


def portal_response(client, flow) -> etree._Element:
    """Ada signs in for the portal, SP-initiated; the Response the IdP posts to the ACS."""
    flow.login("ada@speakers.example", "ada-demo")
    html = client.get("/saml/sso/redirect", query_string={"SAMLRequest": authn_request()}).text
    value = html.split('name="SAMLResponse" value="')[1].split('"')[0]
    return etree.fromstring(base64.b64decode(value))


def confirmations(assertion: etree._Element) -> list[dict[str, str | None]]:
    return [
        {
            "Method": c.get("Method"),
            "Recipient": c.find("saml:SubjectConfirmationData", NS).get("Recipient"),
            "InResponseTo": c.find("saml:SubjectConfirmationData", NS).get("InResponseTo"),
            "NotOnOrAfter": c.find("saml:SubjectConfirmationData", NS).get("NotOnOrAfter"),
        }
        for c in assertion.findall("saml:Subject/saml:SubjectConfirmation", NS)
    ]


def test_the_portal_assertion_names_salesforce_as_audience_and_bearer_recipient(client, flow):
    assertion = portal_response(client, flow).find("saml:Assertion", NS)
    restrictions = assertion.findall("saml:Conditions/saml:AudienceRestriction", NS)
    assert [[a.text for a in r.findall("saml:Audience", NS)] for r in restrictions] == [
        [SP_ENTITY, SF_URL]
    ]
    expiry = assertion.find("saml:Conditions", NS).get("NotOnOrAfter")
    assert confirmations(assertion) == [
        {
            "Method": BEARER,
            "Recipient": ACS,
            "InResponseTo": "_req-exchange",
            "NotOnOrAfter": expiry,
        },
        {"Method": BEARER, "Recipient": SF_TOKEN, "InResponseTo": None, "NotOnOrAfter": expiry},
    ]
    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    assert (name_id.text, name_id.get("Format")) == (
        ADA_ID,
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    )


def test_the_assertion_cut_out_of_the_response_still_verifies_on_its_own(client, flow):
    assertion = portal_response(client, flow).find("saml:Assertion", NS)
    standalone = etree.tostring(assertion)
    metadata = etree.fromstring(client.get("/saml/metadata").data)
    cert = "".join(metadata.find(".//ds:X509Certificate", NS).text.split())
    pem = f"-----BEGIN CERTIFICATE-----\n{cert}\n-----END CERTIFICATE-----\n"
    result = XMLVerifier().verify(
        standalone,
        x509_cert=pem,
        id_attribute="ID",
        expect_config=SignatureConfiguration(location="./", expect_references=1),
    )
    assert result.signed_xml.get("ID") == assertion.get("ID")


def spec(**overrides: Any) -> AssertionSpec:
    values: dict[str, Any] = {
        "issuer": f"{IDP_URL}/saml/metadata",
        "audience": "urn:wiki",
        "recipient": "http://wiki.test/acs",
        "name_id": ADA_ID,
        "name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "now": 1_800_000_000,
        "lifetime": 300,
        "authn_instant": 1_800_000_000,
        "session_index": "_s1",
        "in_response_to": "_r1",
    }
    return AssertionSpec(**{**values, **overrides})


def test_an_sp_without_exchange_settings_gets_one_audience_and_one_confirmation():
    assertion = build_assertion(spec())
    audiences = assertion.findall("saml:Conditions/saml:AudienceRestriction/saml:Audience", NS)
    assert [a.text for a in audiences] == ["urn:wiki"]
    assert [c["Recipient"] for c in confirmations(assertion)] == ["http://wiki.test/acs"]


def test_an_unsolicited_response_has_no_in_response_to_on_either_confirmation():
    assertion = build_assertion(
        spec(in_response_to=None, exchange_audience=SF_URL, exchange_recipient=SF_TOKEN)
    )
    assert [(c["Recipient"], c["InResponseTo"]) for c in confirmations(assertion)] == [
        ("http://wiki.test/acs", None),
        (SF_TOKEN, None),
    ]


@pytest.fixture
def salesforce(tmp_path, app: Flask) -> Flask:
    """mock_sf built by its factory, trusting this IdP's SAML metadata (fetched in-process)."""
    key_file = tmp_path / "sf-signing-key.json"
    key_file.write_text(json.dumps(generate_jwk()))
    sf = create_sf(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'sf.sqlite3'}",
            "IDP_URL": IDP_URL,
            "SF_URL": SF_URL,
            "ARGON2_PROFILE": "CHEAPEST",
            "SIGNING_KEY_FILE": str(key_file),
        }
    )
    result = sf.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    idp_client = app.test_client()

    def fetch(url: str, timeout: float) -> bytes:
        assert url == f"{IDP_URL}/saml/metadata"
        return idp_client.get("/saml/metadata").data

    sf.extensions["mock_sf.saml_certificates"].fetch = fetch
    yield sf
    with sf.app_context():
        sf_db.engine.dispose()


def test_mock_sf_exchanges_the_assertion_the_idp_issued_for_the_portal(client, flow, salesforce):
    assertion = portal_response(client, flow).find("saml:Assertion", NS)
    token = base64.urlsafe_b64encode(etree.tostring(assertion)).rstrip(b"=").decode()
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:saml2",
        "client_id": "speaker-portal",
        "client_secret": "portal-sf-demo-secret",
        "scope": "api",
        "token_handler": "SpeakerTokenHandler",
    }
    sf_client = salesforce.test_client()
    response = sf_client.post("/services/oauth2/token", data=form)
    assert response.status_code == 200, response.get_json()
    with salesforce.app_context():
        ada = sf_db.session.scalars(
            sf_db.select(SfUser).where(
                SfUser.federation_identifier == f"{IDP_URL}/oauth2/default|{ADA_ID}"
            )
        ).one()
        assert response.get_json()["id"].endswith("/" + ada.id)
    replay = sf_client.post("/services/oauth2/token", data=form)
    assert replay.status_code == 400  # the assertion ID is spent (checklist 4b.9)
