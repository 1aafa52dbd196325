"""Built-in handler for SAML 2.0 assertions as subject tokens (RFC 8693 §3, RFC 7522 §3).

The token is one base64url (or standard base64) encoded ``saml:Assertion``. Checks follow the
security checklist §4b, in this order: size cap; safe parsing (no DTD, entities or network);
exactly one Assertion and one ds:Signature, a child of that Assertion (XSW); RSA-SHA256 only;
the single Reference points at the Assertion's ID; the Issuer is a trusted IdP; the signature
verifies with that IdP's certificate from configuration (never KeyInfo); everything after that is
read ONLY from the element signxml returns as signed (comments dropped by exclusive c14n, so a
comment cannot split a NameID): Issuer, IssueInstant, bearer SubjectConfirmation (NotOnOrAfter,
Recipient = a token endpoint of this org, no InResponseTo), Conditions time window,
AudienceRestriction naming this org, structure, then the assertion ID replay cache. The subject
maps by FederationIdentifier ``"<IdP entity id>|<NameID>"``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from cryptography import x509
from lxml import etree
from signxml import DigestAlgorithm
from signxml import SignatureConfiguration
from signxml import SignatureMethod
from signxml import XMLVerifier
from signxml.exceptions import InvalidDigest
from signxml.exceptions import SignXMLException

from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.base import TokenValidationResult
from mock_sf.handlers.base import UserData
from mock_sf.handlers.jwt import check_lifetime
from mock_sf.handlers.jwt import remember_jti
from mock_sf.handlers.saml_metadata import DS
from mock_sf.handlers.saml_metadata import SAFE_PARSER
from mock_sf.handlers.saml_metadata import TrustedSamlIdp
from mock_sf.handlers.saml_metadata import UnsafeXml
from mock_sf.handlers.saml_metadata import parse_untrusted
from mock_sf.handlers.saml_metadata import trusted_saml_idps
from mock_sf.handlers.subjects import TokenRejected
from mock_sf.handlers.subjects import VerifyingTokenExchangeHandler
from mock_sf.handlers.subjects import federation_identifier

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
ENTITY_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
TOKEN_PATH = "/services/oauth2/token"

VERIFY_CONFIG = SignatureConfiguration(
    require_x509=True,
    location="./",  # the Signature must be a child of the root Assertion
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset(
        {DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}
    ),
)

# SAML attribute names (basic, LDAP OIDs, ADFS claim URIs) -> the profile keys new_speaker reads.
PROFILE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "mail",
        "emailAddress",
        "urn:oid:0.9.2342.19200300.100.1.3",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    ),
    "given_name": (
        "firstName",
        "givenName",
        "urn:oid:2.5.4.42",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    ),
    "family_name": (
        "lastName",
        "sn",
        "surname",
        "urn:oid:2.5.4.4",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    ),
    "name": ("displayName", "urn:oid:2.16.840.1.113730.3.1.241"),
    "company": ("company", "o", "urn:oid:2.5.4.10"),
}


def saml(name: str) -> str:
    """Clark notation in the assertion namespace."""
    return f"{{{SAML}}}{name}"


def ds(name: str) -> str:
    """Clark notation in the XML-DSig namespace."""
    return f"{{{DS}}}{name}"


def decode_token(token: str, max_bytes: int) -> bytes:
    """RFC 8693 §3: base64url without padding; standard base64 (padded or not) is accepted too."""
    compact = "".join(token.split())
    if len(compact) > (max_bytes + 2) // 3 * 4:
        raise TokenRejected(f"assertion over {max_bytes} bytes", "size_limit")
    if "-" in compact or "_" in compact:
        if "+" in compact or "/" in compact:
            raise TokenRejected("token mixes the base64 and base64url alphabets", "malformed")
        compact = compact.translate(str.maketrans("-_", "+/"))
    compact = compact.rstrip("=")
    try:
        xml = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TokenRejected(f"token is not base64: {exc}", "malformed") from exc
    if len(xml) > max_bytes:
        raise TokenRejected(f"assertion is {len(xml)} bytes, over {max_bytes}", "size_limit")
    return xml


def parse_instant(value: str | None, what: str) -> datetime:
    """xs:dateTime (SAML Core §1.3.3: UTC) as an aware datetime."""
    if not value:
        raise TokenRejected(f"{what} missing", "malformed")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise TokenRejected(f"{what} is not an xs:dateTime: {value!r}", "malformed") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def acceptable_recipient(recipient: str, config: Mapping[str, Any]) -> bool:
    """RFC 7522 §3: this org's token endpoint, or the Experience Cloud site's."""
    prefix = str(config.get("SITE_PATH_PREFIX") or "").strip("/")
    endpoints = {config["SF_URL"] + TOKEN_PATH}
    if prefix:
        endpoints.add(f"{config['SF_URL']}/{prefix}{TOKEN_PATH}")
    return recipient in endpoints


class SamlTokenExchangeHandler(VerifyingTokenExchangeHandler):
    """Validates a signed SAML 2.0 assertion from a trusted IdP and maps or creates the speaker."""

    def _user_data(self, data: dict[str, Any]) -> UserData:
        return user_data_from_assertion(data)

    def _subject(self, data: dict[str, Any]) -> str:
        return federation_identifier(data["subject_namespace"], data["name_id"])

    def _profile(self, data: dict[str, Any], result: TokenValidationResult) -> Mapping[str, Any]:
        return data["profile"]

    # --- verification ------------------------------------------------------------------------

    def _verify(self, token: str, token_type: TokenExchangeType) -> dict[str, Any]:
        if token_type is not TokenExchangeType.SAML_2:
            raise TokenRejected(f"token type {token_type.name} is not SAML_2", "token_type")
        config = self.context.config
        xml = decode_token(token, config["SAML_MAX_ASSERTION_BYTES"])
        try:
            root = parse_untrusted(xml)
        except UnsafeXml as exc:
            raise TokenRejected(str(exc), "xml_hardening") from exc
        except etree.XMLSyntaxError as exc:
            raise TokenRejected(f"not well-formed XML: {exc}", "malformed") from exc
        assertion_id = check_structure(root)
        idp = self._idp(root)
        signed = self._verified_assertion(xml, idp, assertion_id)
        return self._check_assertion(signed, idp, assertion_id)

    def _idp(self, root: etree._Element) -> TrustedSamlIdp:
        """The trusted IdP named by the (still unverified) Issuer, to pick its certificate."""
        issuer = (root.findtext(saml("Issuer")) or "").strip()
        idp = trusted_saml_idps(self.context.config).get(issuer)
        if idp is None:
            raise TokenRejected(f"untrusted issuer: {issuer!r}", "issuer")
        return idp

    def _verified_assertion(
        self, xml: bytes, idp: TrustedSamlIdp, assertion_id: str
    ) -> etree._Element:
        """The signed Assertion exactly as signxml returns it, verified with a configured cert."""
        source = self.context.saml_certificates
        if source is None:
            raise TokenRejected("no SAML certificate source configured", "trusted_certificate")
        certificates = source.for_idp(idp)
        try:
            result = verify_signature(xml, certificates)
        except TokenRejected:
            # The IdP may have rotated its key: refetch its metadata (cooldown permitting) once.
            refreshed = source.for_idp(idp, refresh=True)
            if not refreshed or refreshed == certificates:
                raise
            result = verify_signature(xml, refreshed)
        signed = result.signed_xml
        if signed is None or signed.tag != saml("Assertion") or signed.get("ID") != assertion_id:
            raise TokenRejected("the signed element is not the Assertion", "signature_wrapping")
        return signed

    def _check_assertion(
        self, signed: etree._Element, idp: TrustedSamlIdp, assertion_id: str
    ) -> dict[str, Any]:
        config = self.context.config
        now = datetime.now(UTC)
        skew = timedelta(seconds=config["SAML_CLOCK_SKEW"])
        if signed.get("Version") != "2.0":
            raise TokenRejected(f"Version {signed.get('Version')!r} is not 2.0", "malformed")
        issuer = signed.find(saml("Issuer"))
        if issuer is None or (issuer.text or "").strip() != idp.entity_id:
            raise TokenRejected("signed Issuer is not the trusted IdP", "issuer")
        if issuer.get("Format") not in (None, ENTITY_FORMAT):
            raise TokenRejected(f"Issuer Format {issuer.get('Format')!r}", "issuer")
        if parse_instant(signed.get("IssueInstant"), "IssueInstant") > now + skew:
            raise TokenRejected("IssueInstant is in the future", "issued_at")
        name_id, name_id_format = subject_name_id(signed)
        bearer_expiry = check_bearer_confirmation(signed, now, skew, config)
        conditions_expiry = check_conditions(signed, now, skew, config["SAML_SP_ENTITY_ID"])
        attributes = assertion_attributes(signed)
        latest = max(filter(None, (bearer_expiry, conditions_expiry)))
        check_lifetime(
            (latest - now).total_seconds(), config["MAX_SUBJECT_TOKEN_LIFETIME"], "NotOnOrAfter"
        )
        expires = latest + skew
        if not remember_jti(
            idp.entity_id, assertion_id, expires.astimezone(UTC).replace(tzinfo=None)
        ):
            raise TokenRejected(f"assertion ID replayed: {assertion_id!r}", "replay")
        return {
            "issuer": idp.entity_id,
            "subject_namespace": idp.subject_namespace,
            "name_id": name_id,
            "name_id_format": name_id_format,
            "assertion_id": assertion_id,
            "attributes": attributes,
            "profile": profile_from_attributes(attributes, name_id, name_id_format),
        }


def check_structure(root: etree._Element) -> str:
    """Signature-wrapping defence on the raw tree; returns the Assertion's ID."""
    if root.tag != saml("Assertion"):
        raise TokenRejected(f"root element is {root.tag}, expected saml:Assertion", "malformed")
    assertion_id = root.get("ID")
    if not assertion_id:
        raise TokenRejected("Assertion has no ID", "malformed")
    assertions = sum(1 for _ in root.iter(saml("Assertion"), saml("EncryptedAssertion")))
    if assertions != 1:
        raise TokenRejected(
            f"{assertions} Assertion elements in the token; exactly one is allowed",
            "signature_wrapping",
        )
    signatures = list(root.iter(ds("Signature")))
    if not signatures:
        raise TokenRejected("assertion is not signed", "signature_required")
    if len(signatures) > 1 or signatures[0].getparent() is not root:
        raise TokenRejected(
            f"{len(signatures)} ds:Signature elements; exactly one, a child of the Assertion, is"
            " allowed",
            "signature_wrapping",
        )
    signature = signatures[0]
    method = signature.find(f"{ds('SignedInfo')}/{ds('SignatureMethod')}")
    algorithm = method.get("Algorithm") if method is not None else None
    if algorithm != RSA_SHA256:
        raise TokenRejected(
            f"signature algorithm {algorithm!r} is not allowed (RSA-SHA256 only)", "alg_allowlist"
        )
    uris = [ref.get("URI") for ref in signature.iter(ds("Reference"))]
    if uris != [f"#{assertion_id}"]:
        raise TokenRejected(
            f"signature references {uris}, not the Assertion's ID '#{assertion_id}'",
            "signature_wrapping",
        )
    return assertion_id


def verify_signature(xml: bytes, certificates: list[x509.Certificate]) -> Any:
    """signxml's VerifyResult for the first configured certificate that verifies the signature."""
    if not certificates:
        raise TokenRejected(
            "no certificate for the IdP (metadata unreachable?)", "trusted_certificate"
        )
    error: SignXMLException | None = None
    for certificate in certificates:
        try:
            return XMLVerifier().verify(
                xml,
                x509_cert=certificate,
                expect_config=VERIFY_CONFIG,
                parser=SAFE_PARSER,
                id_attribute="ID",
            )
        except SignXMLException as exc:
            error = exc
    if isinstance(error, InvalidDigest):
        raise TokenRejected(f"digest mismatch, signed content altered: {error}", "signature")
    foreign = keyinfo_certificate(xml)
    if foreign is not None and foreign not in certificates:
        raise TokenRejected(
            "signature not by the IdP's certificate (KeyInfo carries"
            f" {foreign.subject.rfc4514_string()!r}, which is never trusted)",
            "trusted_certificate",
        )
    raise TokenRejected(f"signature verification failed: {error}", "signature")


def keyinfo_certificate(xml: bytes) -> x509.Certificate | None:
    """The certificate the token carries in KeyInfo, for the audit reason only (never trusted)."""
    root = parse_untrusted(xml)
    text = root.findtext(
        f"{ds('Signature')}/{ds('KeyInfo')}/{ds('X509Data')}/{ds('X509Certificate')}"
    )
    if not text:
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))
    except ValueError:
        return None


def subject_name_id(signed: etree._Element) -> tuple[str, str | None]:
    """The Subject's one non-empty NameID, read from the signed (comment-free) element."""
    subjects = signed.findall(saml("Subject"))
    if len(subjects) != 1:
        raise TokenRejected(f"{len(subjects)} Subject elements; exactly one required", "malformed")
    name_ids = subjects[0].findall(saml("NameID"))
    if len(name_ids) != 1 or len(name_ids[0]):
        raise TokenRejected("Subject needs exactly one plain-text NameID", "name_id")
    value = (name_ids[0].text or "").strip()
    if not value:
        raise TokenRejected("NameID is empty", "name_id")
    return value, name_ids[0].get("Format")


def _after(value: str | None, moment: datetime) -> bool:
    """True when an optional NotBefore lies after ``moment``."""
    return bool(value) and parse_instant(value, "NotBefore") > moment


def check_bearer_confirmation(
    signed: etree._Element, now: datetime, skew: timedelta, config: Mapping[str, Any]
) -> datetime:
    """A bearer SubjectConfirmation valid now, for this org's token endpoint; its NotOnOrAfter."""
    confirmations = [
        element
        for element in signed.iterfind(f"{saml('Subject')}/{saml('SubjectConfirmation')}")
        if element.get("Method") == BEARER
    ]
    if not confirmations:
        raise TokenRejected("no bearer SubjectConfirmation", "subject_confirmation")
    problems = []
    for confirmation in confirmations:
        data = confirmation.find(saml("SubjectConfirmationData"))
        if data is None or not data.get("NotOnOrAfter"):
            problems.append(("bearer SubjectConfirmationData has no NotOnOrAfter", "expiry"))
            continue
        not_on_or_after = parse_instant(data.get("NotOnOrAfter"), "NotOnOrAfter")
        if now - skew >= not_on_or_after:
            passed = f"bearer NotOnOrAfter {data.get('NotOnOrAfter')} has passed"
            problems.append((passed, "expiry"))
        elif _after(data.get("NotBefore"), now + skew):
            problems.append(("bearer NotBefore is in the future", "not_before"))
        elif not acceptable_recipient(data.get("Recipient") or "", config):
            problems.append((f"Recipient {data.get('Recipient')!r} is not this org", "recipient"))
        elif data.get("InResponseTo") is not None:
            # No AuthnRequest precedes a token exchange (checklist 4b.8): this was for browser SSO.
            problems.append(("InResponseTo present: not unsolicited", "in_response_to"))
        else:
            return not_on_or_after
    raise TokenRejected(*problems[0])


def check_conditions(
    signed: etree._Element, now: datetime, skew: timedelta, audience: str
) -> datetime | None:
    """The one Conditions: time window and every AudienceRestriction naming this org."""
    conditions = signed.findall(saml("Conditions"))
    if len(conditions) != 1:
        raise TokenRejected(f"{len(conditions)} Conditions elements; exactly one", "malformed")
    element = conditions[0]
    if _after(element.get("NotBefore"), now + skew):
        ahead = f"Conditions NotBefore {element.get('NotBefore')} is ahead"
        raise TokenRejected(ahead, "not_before")
    not_on_or_after = None
    if element.get("NotOnOrAfter"):
        not_on_or_after = parse_instant(element.get("NotOnOrAfter"), "NotOnOrAfter")
        if now - skew >= not_on_or_after:
            raise TokenRejected(
                f"Conditions NotOnOrAfter {element.get('NotOnOrAfter')} has passed", "expiry"
            )
    restrictions = element.findall(saml("AudienceRestriction"))
    if not restrictions:
        raise TokenRejected("no AudienceRestriction", "audience")
    for restriction in restrictions:  # each must name us (SAML Core §2.5.1.4)
        audiences = [(a.text or "").strip() for a in restriction.findall(saml("Audience"))]
        if audience not in audiences:
            raise TokenRejected(
                f"audience mismatch: expected {audience}, got {audiences}", "audience"
            )
    return not_on_or_after


def assertion_attributes(signed: etree._Element) -> dict[str, list[str]]:
    """Attribute name -> values; a name given twice is refused (checklist 4b.10)."""
    if len(signed.findall(saml("AuthnStatement"))) > 1:
        raise TokenRejected("more than one AuthnStatement", "malformed")
    attributes: dict[str, list[str]] = {}
    for attribute in signed.iterfind(f"{saml('AttributeStatement')}/{saml('Attribute')}"):
        name = attribute.get("Name") or ""
        if not name or name in attributes:
            raise TokenRejected(f"attribute name {name!r} empty or repeated", "malformed")
        attributes[name] = [
            (value.text or "").strip() for value in attribute.findall(saml("AttributeValue"))
        ]
    return attributes


def profile_from_attributes(
    attributes: Mapping[str, list[str]], name_id: str, name_id_format: str | None
) -> dict[str, str]:
    """OIDC-style profile keys (what new_speaker reads) from well-known attribute names."""
    profile: dict[str, str] = {}
    for key, names in PROFILE_ATTRIBUTES.items():
        value = next((attributes[n][0] for n in names if attributes.get(n)), None)
        if value:
            profile[key] = value
    if "email" not in profile and name_id_format == NAMEID_EMAIL:
        profile["email"] = name_id
    return profile


def user_data_from_assertion(data: Mapping[str, Any]) -> UserData:
    """Auth.UserData: NameID as identifier, profile fields, every attribute comma-joined."""
    profile = data["profile"]
    return UserData(
        identifier=data["name_id"],
        first_name=profile.get("given_name"),
        last_name=profile.get("family_name"),
        full_name=profile.get("name"),
        email=profile.get("email"),
        provider=data["issuer"],
        attribute_map={name: ",".join(values) for name, values in data["attributes"].items()},
    )
