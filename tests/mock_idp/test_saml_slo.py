"""Single logout (SAML Profiles §4.4): the LogoutRequest must match the SP's entry in the IdP
session; the IdP propagates to every other participant, collects their LogoutResponses by
InResponseTo, then ends its session and answers the initiator (Success or PartialLogout)."""

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

from mock_idp.models import db
from mock_idp.saml import sp as registry
from tests.mock_idp import idp_session

IDP_URL = "http://127.0.0.1:8001"
PORTAL_URL = "http://127.0.0.1:8000"
SP_ENTITY = f"{PORTAL_URL}/saml/metadata"
SLO_URL = f"{PORTAL_URL}/saml/slo"
WIKI_ENTITY = "urn:test:wiki"
WIKI_SLO = "http://127.0.0.1:8500/slo"
IDP_ENTITY = f"{IDP_URL}/saml/metadata"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
ADA_ID = "00u1ada1demo1speaker"  # the portal's NameID for Ada: persistent, her user id
STATUS = "urn:oasis:names:tc:SAML:2.0:status:"
NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}


def deflate(xml: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def form(html: str) -> tuple[str, dict[str, str]]:
    action = unescape(re.search(r'<form method="post" action="([^"]+)"', html).group(1))
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    return action, {k: unescape(v) for k, v in fields.items()}


def certificate(client) -> x509.Certificate:
    root = etree.fromstring(client.get("/saml/metadata").data)
    text = root.find(".//ds:X509Certificate", NS).text
    return x509.load_der_x509_certificate(base64.b64decode(text))


def signed_in(client) -> bool:
    return idp_session.signed_in_as(client) is not None


def register_wiki(app, binding: str = "post") -> None:
    """A second SP with a single logout URL."""
    with app.app_context():
        registry.seed(
            [
                {
                    "entity_id": WIKI_ENTITY,
                    "name": "Speaker Wiki",
                    "acs_urls": ["http://127.0.0.1:8500/acs"],
                    "slo_url": WIKI_SLO,
                    "slo_binding": binding,
                }
            ],
            app.config,
        )
        db.session.commit()


def sso(client, sp_entity: str = SP_ENTITY) -> tuple[str, str]:
    """IdP-initiated SSO to `sp_entity` for the signed-in user: (NameID, SessionIndex)."""
    response = client.get("/saml/idp-init", query_string={"sp": sp_entity})
    assert response.status_code == 200, response.text
    root = etree.fromstring(base64.b64decode(form(response.text)[1]["SAMLResponse"]))
    name_id = root.find("saml:Assertion/saml:Subject/saml:NameID", NS).text
    index = root.find("saml:Assertion/saml:AuthnStatement", NS).get("SessionIndex")
    return name_id, index


def logout_request(
    session_index: str | None,
    issuer: str = SP_ENTITY,
    name_id: str = ADA_ID,
    name_id_format: str | None = PERSISTENT,
    tag: str = "LogoutRequest",
    request_id: str = "_lo1",
) -> bytes:
    fmt = f' Format="{name_id_format}"' if name_id_format else ""
    index = f"<samlp:SessionIndex>{session_index}</samlp:SessionIndex>" if session_index else ""
    return (
        f'<samlp:{tag} xmlns:samlp="{NS["samlp"]}" xmlns:saml="{NS["saml"]}" ID="{request_id}"'
        ' Version="2.0" IssueInstant="2026-01-01T00:00:00Z">'
        f"<saml:Issuer>{issuer}</saml:Issuer>"
        f"<saml:NameID{fmt}>{name_id}</saml:NameID>{index}</samlp:{tag}>"
    ).encode()


def logout_response(in_response_to: str, issuer: str = WIKI_ENTITY, status: str = "Success"):
    return (
        f'<samlp:LogoutResponse xmlns:samlp="{NS["samlp"]}" xmlns:saml="{NS["saml"]}"'
        f' ID="_resp-{in_response_to}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"'
        f' InResponseTo="{in_response_to}" Destination="{IDP_URL}/saml/slo/post">'
        f"<saml:Issuer>{issuer}</saml:Issuer><samlp:Status>"
        f'<samlp:StatusCode Value="{STATUS}{status}"/></samlp:Status></samlp:LogoutResponse>'
    ).encode()


def verify_query_signature(client, location: str) -> None:
    """Bindings §3.4.4.1, checked independently: the octets as sent, up to &Signature=."""
    raw = urlsplit(location).query
    assert query(location)["SigAlg"] == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    certificate(client).public_key().verify(
        base64.b64decode(query(location)["Signature"]),
        raw.split("&Signature=")[0].encode(),
        PKCS1v15(),
        hashes.SHA256(),
    )


def redirected_message(client, location: str, param: str) -> etree._Element:
    verify_query_signature(client, location)
    return etree.fromstring(zlib.decompress(base64.b64decode(query(location)[param]), -15))


def status_codes(root: etree._Element) -> list[str]:
    return [e.get("Value").removeprefix(STATUS) for e in root.iter(f"{{{NS['samlp']}}}StatusCode")]


def start_logout(client, index: str | None, **kwargs):
    xml = logout_request(index, **kwargs)
    return client.get(
        "/saml/slo/redirect", query_string={"SAMLRequest": deflate(xml), "RelayState": "bye"}
    )


def test_logout_with_no_other_sp_ends_the_session_and_signs_the_query(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    name_id, index = sso(client)
    response = start_logout(client, index, name_id=name_id)
    assert response.status_code == 302
    assert not signed_in(client)
    location = response.headers["Location"]
    assert location.startswith(SLO_URL + "?SAMLResponse=")
    assert query(location)["RelayState"] == "bye"
    root = redirected_message(client, location, "SAMLResponse")
    assert root.tag == f"{{{NS['samlp']}}}LogoutResponse"
    assert (root.get("InResponseTo"), root.get("Destination")) == ("_lo1", SLO_URL)
    assert root.find("saml:Issuer", NS).text == IDP_ENTITY
    assert status_codes(root) == ["Success"]
    assert root.find("ds:Signature", NS) is None  # Redirect: signed on the query only
    # The ended session is gone for good: SSO asks for a password again.
    assert client.get("/saml/idp-init", query_string={"sp": SP_ENTITY}).status_code == 302


def test_post_logout_posts_a_signed_response(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    _, index = sso(client)
    xml = logout_request(index)
    response = client.post("/saml/slo/post", data={"SAMLRequest": base64.b64encode(xml).decode()})
    assert response.status_code == 200
    assert not signed_in(client)
    action, fields = form(response.text)
    assert action == SLO_URL
    root = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    assert status_codes(root) == ["Success"]
    config = SignatureConfiguration(location="./")
    XMLVerifier().verify(
        root, x509_cert=certificate(client), id_attribute="ID", expect_config=config
    )


def test_logout_propagates_to_the_other_sp_then_answers_the_initiator(app, client, flow):
    register_wiki(app, binding="post")
    flow.login("ada@speakers.example", "ada-demo")
    _, index = sso(client)
    sso(client, WIKI_ENTITY)

    response = start_logout(client, index)
    assert response.status_code == 200
    assert signed_in(client)  # not before every participant has been asked
    action, fields = form(response.text)
    assert action == WIKI_SLO and "RelayState" not in fields
    request = etree.fromstring(base64.b64decode(fields["SAMLRequest"]))
    config = SignatureConfiguration(location="./")
    XMLVerifier().verify(
        request, x509_cert=certificate(client), id_attribute="ID", expect_config=config
    )
    assert request.tag == f"{{{NS['samlp']}}}LogoutRequest"
    assert request.get("Destination") == WIKI_SLO
    assert request.find("saml:Issuer", NS).text == IDP_ENTITY
    name_id = request.find("saml:NameID", NS)
    assert (name_id.text, name_id.get("Format")) == ("ada@speakers.example", EMAIL)
    assert request.find("samlp:SessionIndex", NS).text == index

    answer = base64.b64encode(logout_response(request.get("ID"))).decode()
    response = client.post("/saml/slo/post", data={"SAMLResponse": answer})
    assert response.status_code == 302
    root = redirected_message(client, response.headers["Location"], "SAMLResponse")
    assert root.get("InResponseTo") == "_lo1"
    assert status_codes(root) == ["Success"]
    assert query(response.headers["Location"])["RelayState"] == "bye"
    assert not signed_in(client)

    replay = client.post("/saml/slo/post", data={"SAMLResponse": answer})
    assert replay.status_code == 400
    assert "answers no logout request in progress" in replay.text
    assert "SAMLResponse" not in replay.text and "Location" not in replay.headers


@pytest.mark.parametrize("failure", ["Responder", "late", "never"])
def test_a_participant_that_fails_makes_it_a_partial_logout(app, client, flow, failure):
    register_wiki(app, binding="redirect")
    flow.login("ada@speakers.example", "ada-demo")
    _, index = sso(client)
    sso(client, WIKI_ENTITY)
    location = start_logout(client, index).headers["Location"]
    assert location.startswith(WIKI_SLO + "?SAMLRequest=")
    request_id = redirected_message(client, location, "SAMLRequest").get("ID")
    if failure == "never":  # the speaker comes back to the IdP without the wiki's answer
        response = client.get("/saml/slo/resume")
    else:
        if failure == "late":
            app.config["SAML_LOGOUT_TIMEOUT"] = -1  # any answer is later than that
        status = "Success" if failure == "late" else failure
        xml = logout_response(request_id, status=status).replace(
            b' Destination="http://127.0.0.1:8001/saml/slo/post"', b""
        )
        response = client.get("/saml/slo/redirect", query_string={"SAMLResponse": deflate(xml)})
    root = redirected_message(client, response.headers["Location"], "SAMLResponse")
    assert status_codes(root) == ["Success", "PartialLogout"]
    assert not signed_in(client)


@pytest.mark.parametrize(
    "overrides",
    [
        {"name_id": "00u1grace1demo1spkr0"},
        {"name_id_format": EMAIL},
        {"session_index": "_s-not-this-one"},
        {"issuer": WIKI_ENTITY},  # registered, but Ada never signed in to it
    ],
)
def test_a_request_that_does_not_match_the_session_is_refused_and_keeps_it(
    app, client, flow, overrides
):
    register_wiki(app, binding="redirect")
    flow.login("ada@speakers.example", "ada-demo")
    _, index = sso(client)
    response = start_logout(client, overrides.pop("session_index", index), **overrides)
    assert response.status_code == 302
    issuer_slo = WIKI_SLO if overrides.get("issuer") == WIKI_ENTITY else SLO_URL
    assert response.headers["Location"].startswith(issuer_slo + "?SAMLResponse=")
    root = redirected_message(client, response.headers["Location"], "SAMLResponse")
    assert status_codes(root) == ["Requester", "UnknownPrincipal"]
    assert signed_in(client)


def test_without_a_session_index_the_browsers_session_is_meant(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    sso(client)
    response = start_logout(client, None)
    root = redirected_message(client, response.headers["Location"], "SAMLResponse")
    assert status_codes(root) == ["Success"]
    assert not signed_in(client)


def test_a_cookie_less_post_logout_ends_the_session_it_names(app, client, flow):
    """Cross-site POSTs carry no SameSite=Lax cookie: the SessionIndex says which session."""
    flow.login("ada@speakers.example", "ada-demo")
    _, index = sso(client)
    other_browser = app.test_client()
    xml = base64.b64encode(logout_request(index)).decode()
    response = other_browser.post("/saml/slo/post", data={"SAMLRequest": xml})
    root = etree.fromstring(base64.b64decode(form(response.text)[1]["SAMLResponse"]))
    assert status_codes(root) == ["Success"]
    client.get("/")  # the original browser comes back
    assert not signed_in(client)


@pytest.mark.parametrize("copied", ["before single sign-on", "after single sign-on"])
def test_a_copied_idp_session_cookie_is_dead_after_single_logout(app, client, flow, copied):
    """Even a copy without the SAML session's index in it, the logout arriving without a cookie."""
    flow.login("ada@speakers.example", "ada-demo")
    if copied == "before single sign-on":
        thief = idp_session.copy_cookie(client)
        _, index = sso(client)
    else:
        _, index = sso(client)
        thief = idp_session.copy_cookie(client)
    assert signed_in(thief)
    xml = base64.b64encode(logout_request(index)).decode()
    app.test_client().post("/saml/slo/post", data={"SAMLRequest": xml})
    response = thief.get("/saml/idp-init", query_string={"sp": SP_ENTITY})
    assert (response.status_code, response.headers["Location"]) == (302, "/login")
    assert not signed_in(thief)


@pytest.mark.parametrize(
    ("xml", "status", "message"),
    [
        (logout_request("x", issuer="urn:nobody"), 404, "not registered here"),
        (logout_request("x", tag="LogoutResponse"), 400, "Expected a samlp:LogoutRequest."),
        (logout_request("x", name_id=""), 400, "must carry a NameID"),
    ],
)
def test_bad_logout_requests_get_an_error_page_and_keep_the_session(
    client, flow, xml, status, message
):
    flow.login("ada@speakers.example", "ada-demo")
    response = client.get("/saml/slo/redirect", query_string={"SAMLRequest": deflate(xml)})
    assert response.status_code == status
    assert message in response.text
    assert "Location" not in response.headers
    assert signed_in(client)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda rid: logout_response("_unknown"), "answers no logout request in progress"),
        (
            lambda rid: logout_response(rid, issuer=SP_ENTITY),
            "does not come from the SP the request went to",
        ),
    ],
)
def test_logout_responses_must_answer_an_outstanding_request_from_its_sp(
    app, client, flow, make, message
):
    register_wiki(app, binding="post")
    flow.login("ada@speakers.example", "ada-demo")
    _, index = sso(client)
    sso(client, WIKI_ENTITY)
    fields = form(start_logout(client, index).text)[1]
    request_id = etree.fromstring(base64.b64decode(fields["SAMLRequest"])).get("ID")
    answer = base64.b64encode(make(request_id)).decode()
    response = client.post("/saml/slo/post", data={"SAMLResponse": answer})
    assert response.status_code == 400
    assert message in response.text
    assert signed_in(client)


def test_idp_initiated_logout_signs_out_of_every_sp(app, client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    sso(client)
    page = client.get("/login")
    assert 'action="/saml/logout"' in page.text
    response = client.post("/saml/logout", data={"csrf_token": flow.csrf_token(page.text)})
    request = redirected_message(client, response.headers["Location"], "SAMLRequest")
    assert response.headers["Location"].startswith(SLO_URL + "?SAMLRequest=")
    answer = logout_response(request.get("ID"), issuer=SP_ENTITY).replace(
        b' Destination="http://127.0.0.1:8001/saml/slo/post"', b""
    )
    response = client.get("/saml/slo/redirect", query_string={"SAMLResponse": deflate(answer)})
    assert response.status_code == 200
    assert "Speaker Portal: signed out" in response.text
    assert not signed_in(client)


def test_idp_initiated_logout_needs_the_csrf_token(client, flow):
    flow.login("ada@speakers.example", "ada-demo")
    sso(client)
    response = client.post("/saml/logout")
    assert response.status_code == 400
    assert "sign-out form expired" in response.text
    assert signed_in(client)
