"""Building and signing SAML Responses and Assertions (SAML Core §2.3.3, §3.2.2; Profiles §4.1.4.2).

Signatures are enveloped, RSA-SHA256 with SHA-256 digests and exclusive c14n without comments, made
by signxml. The Assertion is signed on its own before it goes into the Response, so its signature
does not depend on the Response's namespace context.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime

from lxml import etree
from signxml import SignatureConstructionMethod
from signxml import XMLSigner

from mock_idp import users
from mock_idp.models import User
from mock_idp.saml.credential import SigningCredential

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
NSMAP = {"saml": SAML, "samlp": SAMLP}
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
ATTRNAME_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


def saml_tag(name: str) -> str:
    """Clark notation for an element of the assertion namespace."""
    return f"{{{SAML}}}{name}"


def samlp_tag(name: str) -> str:
    """Clark notation for an element of the protocol namespace."""
    return f"{{{SAMLP}}}{name}"


def new_id() -> str:
    """A fresh xs:ID (an NCName: it must not start with a digit) with 128 bits of randomness."""
    return "_" + secrets.token_hex(16)


def instant(epoch: float) -> str:
    """xs:dateTime in UTC with a Z, whole seconds (SAML Core §1.3.3)."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class AssertionSpec:
    """Everything an assertion states; times are epoch seconds."""

    issuer: str
    audience: str
    recipient: str
    name_id: str
    name_id_format: str
    now: int
    lifetime: int
    authn_instant: int
    session_index: str
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    in_response_to: str | None = None
    assertion_id: str = field(default_factory=new_id)
    # A second relying party the SP presents the assertion to (Salesforce's token endpoint, RFC
    # 7522 §3): one more Audience, and one more bearer confirmation without InResponseTo.
    exchange_audience: str | None = None
    exchange_recipient: str | None = None


def saml_attributes(user: User) -> dict[str, list[str]]:
    """The user's attributes under their SAML names, from the one attribute table."""
    values = users.internal_attributes(user)
    released: dict[str, list[str]] = {}
    for attr in users.ATTRIBUTES:
        value = values[attr.internal]
        if attr.saml_name is None or value in (None, "", []):
            continue
        released[attr.saml_name] = (
            [str(v) for v in value] if isinstance(value, list) else [str(value)]
        )
    return released


def build_assertion(spec: AssertionSpec) -> etree._Element:
    """An unsigned Assertion with a signature placeholder right after its Issuer."""
    not_on_or_after = instant(spec.now + spec.lifetime)
    assertion = etree.Element(
        saml_tag("Assertion"),
        nsmap=NSMAP,
        ID=spec.assertion_id,
        Version="2.0",
        IssueInstant=instant(spec.now),
    )
    etree.SubElement(assertion, saml_tag("Issuer")).text = spec.issuer
    etree.SubElement(assertion, f"{{{DS}}}Signature", nsmap={"ds": DS}, Id="placeholder")
    subject = etree.SubElement(assertion, saml_tag("Subject"))
    name_id = etree.SubElement(subject, saml_tag("NameID"), Format=spec.name_id_format)
    name_id.text = spec.name_id
    confirmation = etree.SubElement(subject, saml_tag("SubjectConfirmation"), Method=BEARER)
    data = etree.SubElement(
        confirmation,
        saml_tag("SubjectConfirmationData"),
        NotOnOrAfter=not_on_or_after,
        Recipient=spec.recipient,
    )
    if spec.in_response_to is not None:
        data.set("InResponseTo", spec.in_response_to)
    if spec.exchange_recipient is not None:
        # Core §2.4.1: the subject is confirmed if any one SubjectConfirmation is; this one is
        # for the token endpoint, where no AuthnRequest precedes the assertion.
        exchange = etree.SubElement(subject, saml_tag("SubjectConfirmation"), Method=BEARER)
        etree.SubElement(
            exchange,
            saml_tag("SubjectConfirmationData"),
            NotOnOrAfter=not_on_or_after,
            Recipient=spec.exchange_recipient,
        )
    conditions = etree.SubElement(
        assertion,
        saml_tag("Conditions"),
        NotBefore=instant(spec.now),
        NotOnOrAfter=not_on_or_after,
    )
    restriction = etree.SubElement(conditions, saml_tag("AudienceRestriction"))
    etree.SubElement(restriction, saml_tag("Audience")).text = spec.audience
    if spec.exchange_audience is not None:
        # Core §2.5.1.4: one restriction lists every audience, any of which the assertion is for;
        # two restrictions would demand both of each relying party.
        etree.SubElement(restriction, saml_tag("Audience")).text = spec.exchange_audience
    authn = etree.SubElement(
        assertion,
        saml_tag("AuthnStatement"),
        AuthnInstant=instant(spec.authn_instant),
        SessionIndex=spec.session_index,
    )
    context = etree.SubElement(authn, saml_tag("AuthnContext"))
    etree.SubElement(context, saml_tag("AuthnContextClassRef")).text = PASSWORD_PROTECTED
    if spec.attributes:
        statement = etree.SubElement(assertion, saml_tag("AttributeStatement"))
        for name, values in spec.attributes.items():
            attribute = etree.SubElement(
                statement, saml_tag("Attribute"), Name=name, NameFormat=ATTRNAME_BASIC
            )
            for value in values:
                etree.SubElement(attribute, saml_tag("AttributeValue")).text = value
    return assertion


def build_response(
    *,
    issuer: str,
    destination: str,
    in_response_to: str | None,
    now: int,
    status: str = STATUS_SUCCESS,
    sub_status: str | None = None,
    assertion: etree._Element | None = None,
    tag: str = "Response",
) -> etree._Element:
    """A Response (or LogoutResponse via `tag`) with a signature placeholder after its Issuer."""
    response = etree.Element(
        samlp_tag(tag),
        nsmap=NSMAP,
        ID=new_id(),
        Version="2.0",
        IssueInstant=instant(now),
        Destination=destination,
    )
    if in_response_to is not None:
        response.set("InResponseTo", in_response_to)
    etree.SubElement(response, saml_tag("Issuer")).text = issuer
    etree.SubElement(response, f"{{{DS}}}Signature", nsmap={"ds": DS}, Id="placeholder")
    status_el = etree.SubElement(response, samlp_tag("Status"))
    code = etree.SubElement(status_el, samlp_tag("StatusCode"), Value=status)
    if sub_status is not None:
        etree.SubElement(code, samlp_tag("StatusCode"), Value=sub_status)
    if assertion is not None:
        response.append(assertion)
    return response


def sign(element: etree._Element, credential: SigningCredential) -> etree._Element:
    """A signed copy of `element`, the Signature at its placeholder, the certificate in KeyInfo."""
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm=EXC_C14N,
    )
    return signer.sign(element, key=credential.key, cert=[credential.cert])


def drop_placeholder(element: etree._Element) -> etree._Element:
    """Remove the unused signature placeholder of an element that stays unsigned."""
    for placeholder in element.findall(f"{{{DS}}}Signature[@Id='placeholder']"):
        element.remove(placeholder)
    return element


def signed_response(
    spec: AssertionSpec,
    *,
    destination: str,
    credential: SigningCredential,
    sign_assertion: bool,
    sign_response: bool,
) -> bytes:
    """The serialized Response carrying the assertion, signed as the SP asked."""
    assertion = build_assertion(spec)
    assertion = sign(assertion, credential) if sign_assertion else drop_placeholder(assertion)
    response = build_response(
        issuer=spec.issuer,
        destination=destination,
        in_response_to=spec.in_response_to,
        now=spec.now,
        assertion=assertion,
    )
    response = sign(response, credential) if sign_response else drop_placeholder(response)
    return etree.tostring(response, xml_declaration=True, encoding="UTF-8")
