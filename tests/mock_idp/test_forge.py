"""The forge: each valid token verifies with the published keys / certificate, and each broken one
fails exactly its named check in small independent verifiers (PyJWT, signxml) that run the
security checklist's checks in the usual order."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography import x509
from jwt.algorithms import RSAAlgorithm
from lxml import etree
from signxml import InvalidSignature
from signxml import XMLVerifier
from signxml.verifier import SignatureConfiguration

from mock_idp.demo.forge import variants

ISSUER = "http://127.0.0.1:8001/oauth2/default"
IDP_ENTITY = "http://127.0.0.1:8001/saml/metadata"
SF_URL = "http://127.0.0.1:8002"
TYPE = "urn:ietf:params:oauth:token-type:"
AUDIENCE = {
    "access_token": "api://default",
    "id_token": "speaker-portal",
    "jwt": SF_URL,
    "saml2": SF_URL,
}
NS = {"saml": "urn:oasis:names:tc:SAML:2.0:assertion", "ds": "http://www.w3.org/2000/09/xmldsig#"}
MAX_LIFETIME = 48 * 3600  # a subject token valid for longer is refused (checklist 4a.7)
SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def forge(client, kind, variant, user="ada@speakers.example", audience=None):
    body = {"kind": kind, "variant": variant, "user": user}
    if audience:
        body["audience"] = audience
    response = client.post("/_demo/forge", json=body)
    assert response.status_code == 200, response.json
    return response.json


def _b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def jwt_failure(token: str, token_type: str, jwks: dict, audience: str) -> str | None:
    """The first checklist 4a check the JWT fails, None if it passes them all."""
    if len(token) > 16 * 1024:
        return "size_limit"
    parts = token.split(".")
    header = json.loads(_b64url_decode(parts[0]))
    if len(parts) != 3 or header.get("alg") == "none" or not parts[2]:
        return "jws_required"
    if header.get("alg") != "RS256":  # pinned, never taken from the header
        return "alg_allowlist"
    jwk = {k["kid"]: k for k in jwks["keys"]}.get(header.get("kid"))
    if jwk is None:
        return "kid"
    try:
        claims = jwt.decode(
            token,
            RSAAlgorithm.from_jwk(jwk),
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_nbf": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError:
        return "signature"
    if header.get("typ") != ("at+jwt" if token_type == TYPE + "access_token" else "JWT"):
        return "token_type"
    now = time.time()
    if "exp" not in claims:
        return "exp_required"
    if claims["exp"] <= now:
        return "expiry"
    if claims.get("nbf", 0) > now:
        return "not_before"
    if claims.get("iss") != ISSUER:
        return "issuer"
    aud = claims.get("aud")
    if audience not in (aud if isinstance(aud, list) else [aud]):
        return "audience"
    if claims["exp"] - now > MAX_LIFETIME:
        return "lifetime"
    if token_type == TYPE + "access_token" and claims.get("client_id") != "speaker-portal":
        return "client_id"
    return None


def saml_failure(token: str, cert: x509.Certificate, audience: str) -> str | None:
    """The first checklist 4b check the base64url Assertion fails, None if it passes them all."""
    xml = _b64url_decode(token)
    if len(xml) > 100_000:
        return "size_limit"
    root = etree.fromstring(xml, parser=SAFE)
    if root.find("ds:Signature", NS) is None:
        return "signature_required"
    config = SignatureConfiguration(location="./")
    try:  # the pinned certificate only, whatever KeyInfo carries
        signed = (
            XMLVerifier()
            .verify(root, x509_cert=cert, id_attribute="ID", expect_config=config)
            .signed_xml
        )
    except InvalidSignature:
        return "trusted_certificate"
    nested = root.findall(".//saml:Assertion", NS)
    if signed.get("ID") != root.get("ID") or nested:
        return "signature_wrapping"
    if signed.find("saml:Issuer", NS).text != IDP_ENTITY:
        return "issuer"
    audiences = [a.text for a in signed.findall(".//saml:AudienceRestriction/saml:Audience", NS)]
    if audience not in audiences:
        return "audience"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    conditions = signed.find("saml:Conditions", NS)
    bearer = signed.find(".//saml:SubjectConfirmationData", NS)
    if not (conditions.get("NotOnOrAfter") > now and bearer.get("NotOnOrAfter") > now):
        return "expiry"
    latest = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + MAX_LIFETIME))
    if max(conditions.get("NotOnOrAfter"), bearer.get("NotOnOrAfter")) > latest:
        return "lifetime"
    return None


def saml_certificate(client) -> x509.Certificate:
    root = etree.fromstring(client.get("/saml/metadata").data)
    text = root.find(".//ds:X509Certificate", NS).text
    return x509.load_der_x509_certificate(base64.b64decode(text))


FORGEABLE = [(v.kind, v.name, v.check) for v in variants() if v.kind != "refresh_token"]


@pytest.mark.parametrize(("kind", "variant", "check"), FORGEABLE)
def test_each_token_fails_exactly_its_named_check(demo, kind, variant, check):
    record = forge(demo, kind, variant)
    assert record["variant"] == variant
    assert record["check"] == check
    assert record["expect"] == ("accept" if check is None else "reject")
    expected_type = TYPE + ("access_token" if variant == "id_token_as_access_token" else kind)
    assert record["token_type"] == expected_type
    if kind == "saml2":
        failure = saml_failure(record["token"], saml_certificate(demo), AUDIENCE[kind])
    else:
        jwks = demo.get("/oauth2/default/v1/keys").json
        failure = jwt_failure(record["token"], record["token_type"], jwks, AUDIENCE[kind])
    assert failure == check


def test_valid_tokens_carry_the_chosen_user_and_audience(demo):
    record = forge(demo, "access_token", "valid", user="grace@speakers.example", audience="api://x")
    claims = jwt.decode(record["token"], options={"verify_signature": False})
    assert (claims["sub"], claims["aud"]) == ("00u1grace1demo1spkr0", "api://x")
    record = forge(demo, "saml2", "valid", user="grace@speakers.example", audience="urn:sf")
    root = etree.fromstring(_b64url_decode(record["token"]))
    name_id = root.find("saml:Subject/saml:NameID", NS)
    assert name_id.text == "00u1grace1demo1spkr0"  # persistent: the OIDC sub
    assert name_id.get("Format") == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    assert saml_failure(record["token"], saml_certificate(demo), "urn:sf") is None
    assert "=" not in record["token"] and "+" not in record["token"]  # base64url, no padding


def test_refresh_token_is_a_real_one_the_token_endpoint_accepts(demo):
    record = forge(demo, "refresh_token", "valid")
    assert record["token_type"] == TYPE + "refresh_token"
    response = demo.post(
        "/oauth2/default/v1/token",
        data={"grant_type": "refresh_token", "refresh_token": record["token"]},
        auth=("speaker-portal", "portal-demo-secret"),
    )
    assert response.status_code == 200, response.json
    assert response.json["refresh_token"] != record["token"]


def test_variants_listing_names_a_check_for_every_broken_token(demo):
    listing = demo.get("/_demo/forge/variants").json["variants"]
    names = {(v["kind"], v["variant"]) for v in listing}
    for kind in ("access_token", "id_token", "jwt"):
        for name in (
            "valid",
            "expired",
            "not_yet_valid",
            "wrong_issuer",
            "wrong_audience",
            "alg_none",
            "hs256_public_key",
            "unknown_kid",
            "tampered_payload",
            "missing_exp",
            "too_long_lived",
            "oversized",
        ):
            assert (kind, name) in names
    assert ("access_token", "id_token_as_access_token") in names
    assert ("access_token", "other_client") in names
    for name in (
        "valid",
        "unsigned",
        "signature_wrapped",
        "foreign_certificate",
        "expired",
        "too_long_lived",
        "wrong_audience",
        "oversized",
    ):
        assert ("saml2", name) in names
    for v in listing:
        assert (v["check"] is None) == (v["variant"] == "valid")
        assert v["expect"] == ("accept" if v["variant"] == "valid" else "reject")


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"kind": "pasta", "user": "ada@speakers.example"}, "kind must be one of"),
        ({"kind": "jwt", "variant": "nope", "user": "ada@speakers.example"}, "Unknown kind"),
        ({"kind": "jwt", "user": "nobody@speakers.example"}, "user must be the email"),
        (
            {"kind": "refresh_token", "user": "ada@speakers.example", "audience": "nope"},
            "registered client_id",
        ),
    ],
)
def test_bad_forge_requests(demo, body, description):
    response = demo.post("/_demo/forge", json=body)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert description in response.json["error_description"]


def test_forge_page_mints_through_a_form(demo):
    page = demo.get("/_demo/forge")
    assert page.status_code == 200
    assert "Mock IdP – not for production" in page.text
    result = demo.get(
        "/_demo/forge", query_string={"kv": "saml2/unsigned", "user": "ada@speakers.example"}
    )
    assert "at check <code>signature_required</code>" in result.text
