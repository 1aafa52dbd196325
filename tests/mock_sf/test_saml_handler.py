"""SAML 2.0 assertions as subject tokens (RFC 8693 §3, RFC 7522; security checklist §4b).

The fake IdP here signs assertions with signxml and a test key, and serves its certificate in
metadata through a fake fetch; every negative names the exact wire error and the logged reason.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask
from lxml import etree
from signxml import SignatureConstructionMethod
from signxml import XMLSigner
from sqlalchemy import select

from mock_sf.handlers.base import HandlerContext
from mock_sf.handlers.base import IntegratingAppType
from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.saml import SamlTokenExchangeHandler
from mock_sf.handlers.saml import decode_token
from mock_sf.handlers.saml_metadata import SamlCertificates
from mock_sf.handlers.saml_metadata import TrustedSamlIdp
from mock_sf.models import ExchangeAttempt
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import User
from mock_sf.models import db

IDP_URL = "http://127.0.0.1:18001"
SF_URL = "http://127.0.0.1:18002"
ENTITY_ID = f"{IDP_URL}/saml/metadata"
SAML2_TYPE = "urn:ietf:params:oauth:token-type:saml2"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
VALIDATION_FAILED = {
    "error": "invalid_request",
    "error_description": "token handler validation failed",
}
AUTH_FAILURE = {"error": "invalid_grant", "error_description": "authentication failure"}
GRACE = {
    "email": ["grace@speakers.example"],
    "firstName": ["Grace"],
    "lastName": ["Hopper"],
    "displayName": ["Grace Hopper"],
    "company": ["Compilers Inc"],
    "speakerId": ["SPK-1906"],
}


def self_signed(key: rsa.RSAPrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def idp_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def instant(epoch: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def metadata_xml(cert: x509.Certificate, entity_id: str = ENTITY_ID) -> bytes:
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return f"""<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID="{entity_id}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
      <ds:X509Certificate>{der}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>""".encode()


class FakeSamlIdp:
    """Builds and signs assertions as a SAML IdP would, and serves its metadata."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key
        self.cert = self_signed(key, "fake saml idp")
        self.metadata_fetches: list[str] = []

    def fetch_metadata(self, url: str, timeout: float) -> bytes:
        assert timeout == 5
        self.metadata_fetches.append(url)
        return metadata_xml(self.cert)

    def assertion(
        self,
        name_id: str = "grace@speakers.example",
        *,
        issuer: str = ENTITY_ID,
        audience: str = SF_URL,
        recipient: str | None = f"{SF_URL}/services/oauth2/token",
        now: float | None = None,
        lifetime: int = 300,
        attributes: dict[str, list[str]] | None = None,
        assertion_id: str | None = None,
        in_response_to: str | None = None,
    ) -> etree._Element:
        """An unsigned Assertion with a signature placeholder after its Issuer."""
        now = time.time() if now is None else now
        q = lambda name: f"{{{SAML}}}{name}"  # noqa: E731
        root = etree.Element(
            q("Assertion"),
            nsmap={"saml": SAML},
            ID=assertion_id or "_" + uuid.uuid4().hex,
            Version="2.0",
            IssueInstant=instant(now),
        )
        etree.SubElement(root, q("Issuer")).text = issuer
        etree.SubElement(root, f"{{{DS}}}Signature", nsmap={"ds": DS}, Id="placeholder")
        subject = etree.SubElement(root, q("Subject"))
        etree.SubElement(subject, q("NameID"), Format=NAMEID_EMAIL).text = name_id
        confirmation = etree.SubElement(subject, q("SubjectConfirmation"), Method=BEARER)
        data = etree.SubElement(
            confirmation, q("SubjectConfirmationData"), NotOnOrAfter=instant(now + lifetime)
        )
        if recipient is not None:
            data.set("Recipient", recipient)
        if in_response_to is not None:
            data.set("InResponseTo", in_response_to)
        conditions = etree.SubElement(
            root, q("Conditions"), NotBefore=instant(now), NotOnOrAfter=instant(now + lifetime)
        )
        restriction = etree.SubElement(conditions, q("AudienceRestriction"))
        etree.SubElement(restriction, q("Audience")).text = audience
        authn = etree.SubElement(root, q("AuthnStatement"), AuthnInstant=instant(now))
        context = etree.SubElement(authn, q("AuthnContext"))
        etree.SubElement(
            context, q("AuthnContextClassRef")
        ).text = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        statement = etree.SubElement(root, q("AttributeStatement"))
        for name, values in (GRACE if attributes is None else attributes).items():
            attribute = etree.SubElement(statement, q("Attribute"), Name=name)
            for value in values:
                etree.SubElement(attribute, q("AttributeValue")).text = value
        return root

    def sign(
        self,
        element: etree._Element,
        key: rsa.RSAPrivateKey | None = None,
        cert: x509.Certificate | None = None,
        reference_uri: str | None = None,
    ) -> etree._Element:
        signer = XMLSigner(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm="rsa-sha256",
            digest_algorithm="sha256",
            c14n_algorithm=EXC_C14N,
        )
        return signer.sign(
            element,
            key=key or self.key,
            cert=[cert or self.cert],
            reference_uri=reference_uri,
        )

    def signed(self, **kwargs: Any) -> etree._Element:
        return self.sign(self.assertion(**kwargs))

    def token(self, **kwargs: Any) -> str:
        return encode(self.signed(**kwargs))


def encode(element: etree._Element | bytes, urlsafe: bool = True) -> str:
    xml = element if isinstance(element, bytes) else etree.tostring(element, encoding="UTF-8")
    if urlsafe:
        return base64.urlsafe_b64encode(xml).rstrip(b"=").decode()
    return base64.b64encode(xml).decode()


@pytest.fixture
def saml_idp(app: Flask, idp_key: rsa.RSAPrivateKey) -> FakeSamlIdp:
    fake = FakeSamlIdp(idp_key)
    app.extensions["mock_sf.saml_certificates"].fetch = fake.fetch_metadata
    return fake


def exchange(api: Any, token: str, **overrides: str | None) -> Any:
    return api.exchange(token, subject_token_type=SAML2_TYPE, **overrides)


def last_attempt(app: Flask) -> ExchangeAttempt:
    with app.app_context():
        return db.session.scalars(
            select(ExchangeAttempt).order_by(ExchangeAttempt.id.desc())
        ).first()


def grace(app: Flask, namespace: str = f"{IDP_URL}/oauth2/default") -> User | None:
    """Grace by `<namespace>|<NameID>`: the demo IdP's SAML subjects share its OIDC namespace."""
    with app.app_context():
        return db.session.scalar(
            select(User).where(User.federation_identifier == f"{namespace}|grace@speakers.example")
        )


# --- accepted ---------------------------------------------------------------------------------


def test_a_signed_assertion_creates_the_speaker_then_maps_to_her(
    app: Flask, api: Any, saml_idp: FakeSamlIdp
) -> None:
    first = exchange(api, saml_idp.token())
    assert first.status_code == 200, first.get_json()
    user = grace(app)
    assert user is not None and first.get_json()["id"].endswith("/" + user.id)
    with app.app_context():
        user = db.session.get(User, user.id)
        assert (user.username, user.first_name, user.last_name) == (
            "grace@speakers.example",
            "Grace",
            "Hopper",
        )
        assert user.user_type == "CspLitePortal" and user.account.name == "Compilers Inc"
    second = exchange(api, saml_idp.token())  # a new assertion (new ID) for the same subject
    assert second.get_json()["id"] == first.get_json()["id"]
    assert saml_idp.metadata_fetches == [ENTITY_ID]  # fetched lazily, once, then cached
    attempt = last_attempt(app)
    assert (attempt.outcome, attempt.token_type) == ("success", SAML2_TYPE)


@pytest.mark.parametrize("padded", [False, True])
def test_standard_base64_is_accepted_too(api: Any, saml_idp: FakeSamlIdp, padded: bool) -> None:
    token = encode(saml_idp.signed(), urlsafe=False)
    token = token if padded else token.rstrip("=")
    assert exchange(api, token).status_code == 200


def test_the_site_token_endpoint_is_an_acceptable_recipient(
    api: Any, saml_idp: FakeSamlIdp
) -> None:
    token = saml_idp.token(recipient=f"{SF_URL}/speakers/services/oauth2/token")
    assert exchange(api, token).status_code == 200


def test_a_configured_pem_is_used_without_metadata(
    app: Flask, api: Any, saml_idp: FakeSamlIdp
) -> None:
    pem = saml_idp.cert.public_bytes(serialization.Encoding.PEM).decode()
    app.config["TRUSTED_SAML_IDPS"] = [{"entity_id": ENTITY_ID, "certificate": pem}]
    assert exchange(api, saml_idp.token()).status_code == 200
    assert saml_idp.metadata_fetches == []
    # Without a federation_issuer the IdP's NameIDs live in its own entity id's namespace.
    assert grace(app, namespace=ENTITY_ID) is not None
    assert grace(app) is None


def test_a_rotated_idp_key_is_picked_up_from_fresh_metadata(
    app: Flask, api: Any, saml_idp: FakeSamlIdp, attacker_key: rsa.RSAPrivateKey
) -> None:
    certificates = app.extensions["mock_sf.saml_certificates"]
    certificates.clock = lambda: 1000.0
    assert exchange(api, saml_idp.token()).status_code == 200
    saml_idp.key, saml_idp.cert = attacker_key, self_signed(attacker_key, "rotated idp key")
    refused = exchange(api, saml_idp.token())  # within the 30 s cooldown: no refetch
    assert refused.get_json() == VALIDATION_FAILED
    certificates.clock = lambda: 1030.0
    assert exchange(api, saml_idp.token()).status_code == 200
    assert len(saml_idp.metadata_fetches) == 2


def test_an_unreachable_metadata_url_fails_closed(app: Flask, api: Any) -> None:
    def unreachable(url: str, timeout: float) -> bytes:
        raise ValueError("IdP unreachable")

    app.extensions["mock_sf.saml_certificates"].fetch = unreachable
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = exchange(api, FakeSamlIdp(key).token())
    assert response.get_json() == VALIDATION_FAILED
    assert last_attempt(app).reason == "no certificate for the IdP (metadata unreachable?)"


# --- refused: every applicable row of checklist 4b --------------------------------------------


def _sha1_signed(idp: FakeSamlIdp) -> str:
    """A genuine RSA-SHA1 signature: SignedInfo re-signed after switching its algorithm."""
    signed = idp.signed()
    signed_info = signed.find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo")
    signed_info.find(f"{{{DS}}}SignatureMethod").set("Algorithm", RSA_SHA1)
    c14n = etree.tostring(signed_info, method="c14n", exclusive=True, with_comments=False)
    value = idp.key.sign(c14n, padding.PKCS1v15(), hashes.SHA1())
    signed.find(f"{{{DS}}}Signature/{{{DS}}}SignatureValue").text = base64.b64encode(value)
    return encode(signed)


def _foreign_certificate(idp: FakeSamlIdp, attacker_key: rsa.RSAPrivateKey) -> str:
    """Signed by an attacker, whose own certificate rides in KeyInfo."""
    return encode(idp.sign(idp.assertion(), attacker_key, self_signed(attacker_key, "attacker")))


def _wrapped(idp: FakeSamlIdp) -> str:
    """XSW (as mock_idp's forge): a forged Assertion carries the signature, the signed original
    moved into ds:Signature/ds:Object so the Reference still resolves."""
    signed = idp.signed(name_id="ada@speakers.example")
    evil = copy.deepcopy(signed)
    evil.set("ID", "_evil")
    evil.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text = "grace@speakers.example"
    original = copy.deepcopy(signed)
    original.remove(original.find(f"{{{DS}}}Signature"))
    etree.SubElement(evil.find(f"{{{DS}}}Signature"), f"{{{DS}}}Object").append(original)
    return encode(evil)


def _two_assertions(idp: FakeSamlIdp) -> str:
    """A validly signed assertion, a second (unsigned) Assertion in SubjectConfirmationData."""
    signed = idp.signed()
    data = signed.find(
        f"{{{SAML}}}Subject/{{{SAML}}}SubjectConfirmation/{{{SAML}}}SubjectConfirmationData"
    )
    data.append(idp.assertion(name_id="ada@speakers.example", assertion_id="_second"))
    data.find(f"{{{SAML}}}Assertion").remove(data.find(f"{{{SAML}}}Assertion/{{{DS}}}Signature"))
    return encode(signed)


def _signature_over_another_element(idp: FakeSamlIdp) -> str:
    """The signature (child of the Assertion) genuinely covers only the Subject; the attacker
    then rewrites the unsigned Audience."""
    assertion = idp.assertion(audience="urn:other-sp")
    assertion.find(f"{{{SAML}}}Subject").set("ID", "_subject")
    signed = idp.sign(assertion, reference_uri="_subject")
    signed.find(
        f"{{{SAML}}}Conditions/{{{SAML}}}AudienceRestriction/{{{SAML}}}Audience"
    ).text = SF_URL
    return encode(signed)


def _second_signature(idp: FakeSamlIdp) -> str:
    """A valid assertion with an extra ds:Signature planted under SubjectConfirmationData."""
    signed = idp.signed()
    extra = copy.deepcopy(signed.find(f"{{{DS}}}Signature"))
    signed.find(f"{{{SAML}}}Subject/{{{SAML}}}SubjectConfirmation").append(extra)
    return encode(signed)


def _tampered(idp: FakeSamlIdp) -> str:
    signed = idp.signed()
    signed.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text = "ada@speakers.example"
    return encode(signed)


def _with_dtd(idp: FakeSamlIdp) -> str:
    body = etree.tostring(idp.signed(), encoding="unicode")
    xxe = '<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return encode(xxe.encode() + body.replace("grace@speakers.example<", "&xxe;<", 1).encode())


def _billion_laughs(idp: FakeSamlIdp) -> str:
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    return encode(f"<!DOCTYPE lol [{entities}]><lol>&a9;</lol>".encode())


def _utf16_dtd(idp: FakeSamlIdp) -> str:
    """A DTD hidden from a byte scan by UTF-16; caught after parsing."""
    doc = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ELEMENT a ANY>]><a/>'
    return encode(doc.encode("utf-16"))


def _unsigned(idp: FakeSamlIdp) -> str:
    assertion = idp.assertion()
    assertion.remove(assertion.find(f"{{{DS}}}Signature"))
    return encode(assertion)


NOW = time.time()
Case = Callable[[FakeSamlIdp, rsa.RSAPrivateKey], str]
TEN_YEARS = 10 * 365 * 24 * 3600

NEGATIVE: list[tuple[str, Case, str]] = [
    ("unsigned", lambda idp, k: _unsigned(idp), "assertion is not signed"),
    (
        "valid for ten years",  # issue 10, finding 5
        lambda idp, k: idp.token(lifetime=TEN_YEARS),
        "NotOnOrAfter is 87600 h ahead; at most 48 h (SF_MAX_SUBJECT_TOKEN_LIFETIME)",
    ),
    (
        "rsa-sha1",
        lambda idp, k: _sha1_signed(idp),
        f"signature algorithm '{RSA_SHA1}' is not allowed (RSA-SHA256 only)",
    ),
    (
        "foreign certificate in KeyInfo",
        _foreign_certificate,
        "signature not by the IdP's certificate (KeyInfo carries 'CN=attacker', which is never"
        " trusted)",
    ),
    (
        "XSW wrapped assertion",
        lambda idp, k: _wrapped(idp),
        "2 Assertion elements in the token; exactly one is allowed",
    ),
    (
        "XSW two assertions",
        lambda idp, k: _two_assertions(idp),
        "2 Assertion elements in the token; exactly one is allowed",
    ),
    (
        "XSW signature over another element",
        lambda idp, k: _signature_over_another_element(idp),
        "signature references ['#_subject'], not the Assertion's ID",
    ),
    (
        "XSW second signature",
        lambda idp, k: _second_signature(idp),
        "2 ds:Signature elements; exactly one, a child of the Assertion, is allowed",
    ),
    (
        "content altered after signing",
        lambda idp, k: _tampered(idp),
        "digest mismatch, signed content altered",
    ),
    (
        "expired",
        lambda idp, k: idp.token(now=NOW - 3600),
        "bearer NotOnOrAfter",
    ),
    (
        "not yet valid",
        lambda idp, k: idp.token(now=NOW + 3600),
        "IssueInstant is in the future",
    ),
    (
        "wrong audience",
        lambda idp, k: idp.token(audience="urn:other-sp"),
        f"audience mismatch: expected {SF_URL}, got ['urn:other-sp']",
    ),
    (
        "wrong issuer",
        lambda idp, k: idp.token(issuer="http://127.0.0.1:19999/saml/metadata"),
        "untrusted issuer: 'http://127.0.0.1:19999/saml/metadata'",
    ),
    (
        "wrong recipient",
        lambda idp, k: idp.token(recipient="http://127.0.0.1:19999/acs"),
        "Recipient 'http://127.0.0.1:19999/acs' is not this org",
    ),
    (
        "no recipient",
        lambda idp, k: idp.token(recipient=None),
        "Recipient None is not this org",
    ),
    (
        "solicited (InResponseTo)",
        lambda idp, k: idp.token(in_response_to="_req1"),
        "InResponseTo present: not unsolicited",
    ),
    ("empty NameID", lambda idp, k: idp.token(name_id="  "), "NameID is empty"),
    ("XXE external entity", lambda idp, k: _with_dtd(idp), "DTD or entity declaration in the XML"),
    ("billion laughs", lambda idp, k: _billion_laughs(idp), "DTD or entity declaration in the XML"),
    ("DTD in UTF-16", lambda idp, k: _utf16_dtd(idp), "DTD in the XML"),
    ("not base64", lambda idp, k: "not*base64", "token is not base64"),
    ("not XML", lambda idp, k: encode(b"hello"), "not well-formed XML"),
    (
        "a SAML Response, not an Assertion",
        lambda idp, k: encode(
            b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'
        ),
        "root element is {urn:oasis:names:tc:SAML:2.0:protocol}Response, expected saml:Assertion",
    ),
]


@pytest.mark.parametrize(
    ("build", "reason"), [c[1:] for c in NEGATIVE], ids=[c[0] for c in NEGATIVE]
)
def test_refused_assertions(
    app: Flask,
    api: Any,
    saml_idp: FakeSamlIdp,
    attacker_key: rsa.RSAPrivateKey,
    build: Case,
    reason: str,
) -> None:
    response = exchange(api, build(saml_idp, attacker_key))
    assert response.status_code == 400
    assert response.get_json() == VALIDATION_FAILED
    attempt = last_attempt(app)
    assert (attempt.outcome, attempt.error, attempt.handler) == (
        "failure",
        "invalid_request",
        "SpeakerTokenHandler",
    )
    assert attempt.reason.startswith(reason), attempt.reason
    assert grace(app) is None


def test_a_repeated_attribute_name_is_refused(app: Flask, api: Any, saml_idp: FakeSamlIdp) -> None:
    assertion = saml_idp.assertion()
    statement = assertion.find(f"{{{SAML}}}AttributeStatement")
    statement.append(copy.deepcopy(statement[0]))
    response = exchange(api, encode(saml_idp.sign(assertion)))
    assert response.get_json() == VALIDATION_FAILED
    assert last_attempt(app).reason == "attribute name 'email' empty or repeated"


def test_a_replayed_assertion_is_refused(app: Flask, api: Any, saml_idp: FakeSamlIdp) -> None:
    token = saml_idp.token(assertion_id="_once")
    assert exchange(api, token).status_code == 200
    replay = exchange(api, token)
    assert replay.get_json() == VALIDATION_FAILED
    assert last_attempt(app).reason == "assertion ID replayed: '_once'"


def test_an_assertion_refused_later_in_the_exchange_is_not_consumed(
    api: Any, saml_idp: FakeSamlIdp
) -> None:
    token = saml_idp.token()
    assert exchange(api, token, scope="api full").status_code == 400  # scope refused first
    assert exchange(api, token).status_code == 200


def test_an_oversized_assertion_is_refused_by_the_handler_cap(
    app: Flask, api: Any, saml_idp: FakeSamlIdp
) -> None:
    app.config["SAML_MAX_ASSERTION_BYTES"] = 2000
    response = exchange(api, saml_idp.token())
    assert response.get_json() == VALIDATION_FAILED
    assert last_attempt(app).reason == "assertion over 2000 bytes"


def test_an_oversized_token_is_refused_at_the_endpoint(
    app: Flask, api: Any, saml_idp: FakeSamlIdp
) -> None:
    padding_attribute = {**GRACE, "padding": ["x" * 10_000]}
    response = exchange(api, saml_idp.token(attributes=padding_attribute))
    assert response.get_json() == AUTH_FAILURE
    assert last_attempt(app).reason.startswith("subject_token has ")


def test_a_comment_cannot_split_the_name_id(app: Flask, api: Any, saml_idp: FakeSamlIdp) -> None:
    """The IdP signed 'ada@speakers.example<!---->.evil.example' (an attacker's own address).
    Exclusive c14n drops the comment, so the signed NameID is the whole address, not Ada's."""
    with app.app_context():
        handler = db.session.scalar(select(OauthTokenExchangeHandler))
        handler.is_user_creation_allowed = False
        db.session.commit()
    assertion = saml_idp.assertion(name_id="ada@speakers.example", attributes={})
    name_id = assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID")
    name_id.append(etree.Comment(""))
    name_id[0].tail = ".evil.example"
    token = encode(saml_idp.sign(assertion))

    with app.app_context():
        handler = SamlTokenExchangeHandler(_context(app))
        result = handler.validate_incoming_token(
            "SpeakerPortal", IntegratingAppType.CA, token, TokenExchangeType.SAML_2
        )
        db.session.rollback()  # forget the replay-cache row of this direct call
    assert result.is_valid, result.reason
    assert result.data["name_id"] == "ada@speakers.example.evil.example"

    response = exchange(api, token)
    assert response.get_json() == AUTH_FAILURE
    assert last_attempt(app).reason == "handler mapped no user (user creation allowed: False)"


def _context(app: Flask) -> HandlerContext:
    from mock_sf.handlers import handler_context

    with app.test_request_context():
        return handler_context()


def test_decode_token_refuses_mixed_alphabets() -> None:
    from mock_sf.handlers.subjects import TokenRejected

    with pytest.raises(TokenRejected, match="mixes the base64 and base64url alphabets"):
        decode_token("ab-c+d", 100)


def test_metadata_for_another_entity_yields_no_certificate(idp_key: rsa.RSAPrivateKey) -> None:
    fake = FakeSamlIdp(idp_key)
    source = SamlCertificates(lambda url, timeout: metadata_xml(fake.cert, "urn:someone-else"))
    idp = TrustedSamlIdp(ENTITY_ID, metadata_url=ENTITY_ID)
    assert source.for_idp(idp) == []
    source = SamlCertificates(lambda url, timeout: metadata_xml(fake.cert))
    assert source.for_idp(idp) == [fake.cert]
