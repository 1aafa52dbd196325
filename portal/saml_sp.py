"""The portal as a SAML 2.0 service provider, on pysaml2; no Flask here.

Web Browser SSO (SAML Profiles §4.1): the AuthnRequest goes over HTTP-Redirect (Bindings §3.4),
the Response comes back over HTTP-POST (Bindings §3.5). pysaml2 verifies it: the signatures with
the IdP's certificate from its metadata only (xmlsec1), the assertion's signature required (Core
§5), Issuer, Destination, Audience (Core §2.5.1.4) and the time windows. This module adds what
pysaml2 leaves out or gets too strict for our assertion (security checklist §4b):

- InResponseTo: the IdP's assertion for the portal carries a second bearer SubjectConfirmation for
  Salesforce's token endpoint, without InResponseTo (RFC 7522 §3; Core §2.4.1.2: any one
  confirmation confirms). pysaml2 wants InResponseTo on every confirmation, so it is told to
  accept "unsolicited" responses and the request is matched here instead: the Response's
  InResponseTo and that of a bearer confirmation whose Recipient is our ACS must both name the
  outstanding, single-use request the caller pops.
- Recipient: pysaml2 checks it only with conversation info, and then refuses any confirmation for
  another recipient; here one bearer confirmation must name our ACS and carry a NotOnOrAfter.
- Hardening before pysaml2 sees the XML: size caps, no DTD (XXE, billion laughs), exactly one
  Assertion (signature wrapping, checklist 4b.4).
- The signed Assertion is cut out of the Response as it was signed (exclusive c14n makes it
  self-contained), base64url-encoded for the token exchange (RFC 8693 §3, token type saml2).

Single Logout (Profiles §4.4, Core §3.7): LogoutRequests to the IdP over HTTP-Redirect, and the
IdP's LogoutRequests and LogoutResponses over HTTP-Redirect or HTTP-POST, checked by pysaml2.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from saml2 import BINDING_HTTP_POST
from saml2 import BINDING_HTTP_REDIRECT
from saml2 import SAMLError
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NameID
from saml2.samlp import STATUS_RESPONDER
from saml2.samlp import STATUS_SUCCESS
from saml2.samlp import STATUS_UNKNOWN_PRINCIPAL
from saml2.samlp import Status
from saml2.samlp import StatusCode
from saml2.sigver import MissingKey
from saml2.sigver import SignatureError
from saml2.validate import ResponseLifetimeExceed
from saml2.validate import ToEarly
from saml2.xmldsig import SIG_RSA_SHA256

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
KEY_FILE = "saml-sp-key.pem"
CERT_FILE = "saml-sp-cert.pem"
CERT_SUBJECT = "speaker-portal DEV-ONLY SAML SP signing"
MAX_ENCODED = 200_000  # a signed Response with attributes is 5-10 KB
MAX_XML = 150_000
METADATA_TTL = 3600  # seconds a fetched IdP metadata document is used before it is refetched
BINDINGS = {"redirect": BINDING_HTTP_REDIRECT, "post": BINDING_HTTP_POST}

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=True
)

# mock_idp's attribute names first, then the LDAP and ADFS names other IdPs send.
ATTRIBUTE_NAMES = {
    "email": ("email", "mail", "urn:oid:0.9.2342.19200300.100.1.3"),
    "given_name": ("firstName", "givenName", "urn:oid:2.5.4.42"),
    "family_name": ("lastName", "sn", "surname", "urn:oid:2.5.4.4"),
    "display_name": ("displayName", "urn:oid:2.16.840.1.113730.3.1.241"),
}


class SamlError(Exception):
    """A SAML message the portal does not accept; `code` is stable, `description` for developers."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class IdpMetadataUnavailable(Exception):
    """The IdP's metadata could not be fetched, so nothing can be sent to it or checked."""


@dataclass(frozen=True)
class SpSettings:
    """Where the portal is, where the IdP's metadata is, and the SP's key files."""

    entity_id: str
    acs_url: str
    slo_url: str
    idp_metadata_url: str
    key_file: Path
    cert_file: Path
    sign_requests: bool = False
    clock_skew: int = 60


@dataclass(frozen=True)
class SamlLogin:
    """What a validated Response says: who, which IdP session, and the assertion to exchange."""

    name_id: str
    name_id_format: str | None
    session_index: str | None
    attributes: dict[str, list[str]]
    assertion_id: str
    assertion_xml: bytes  # the Assertion element exactly as signed
    not_on_or_after: int  # the ACS bearer confirmation's, unix seconds

    @property
    def subject_token(self) -> str:
        """The Assertion as an RFC 8693 subject token: base64url without padding."""
        return base64.urlsafe_b64encode(self.assertion_xml).rstrip(b"=").decode("ascii")

    def attribute(self, name: str) -> str | None:
        """The first value of a profile attribute under any of its well-known SAML names."""
        for saml_name in ATTRIBUTE_NAMES[name]:
            values = self.attributes.get(saml_name)
            if values and values[0]:
                return values[0]
        return None


@dataclass(frozen=True)
class Outgoing:
    """A message on its way to the IdP: a redirect URL, or a form to post."""

    request_id: str | None
    location: str | None = None  # HTTP-Redirect
    form_action: str | None = None  # HTTP-POST
    form_fields: dict[str, str] | None = None


@dataclass(frozen=True)
class IdpLogoutRequest:
    """A verified LogoutRequest from the IdP."""

    request: Any  # pysaml2's LogoutRequest, needed to answer it
    name_id: str
    session_indexes: list[str]
    binding: str  # "redirect" | "post"
    relay_state: str | None


# --- the SP's signing credential --------------------------------------------------------------


def load_or_create_credential(instance_path: Path) -> tuple[Path, Path]:
    """The SP key (mode 0600) and self-signed DEV-ONLY certificate, made on first use.

    Files appear atomically (link of a finished temp file), so several workers starting at once
    agree on one key; the certificate is remade if it does not certify the key on disk.
    """
    key_path, cert_path = instance_path / KEY_FILE, instance_path / CERT_FILE
    if not key_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _publish(key_path, pem, 0o600)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{key_path} is not an RSA key")
    if cert_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if cert.public_key().public_numbers() == key.public_key().public_numbers():
            return key_path, cert_path
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERT_SUBJECT)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    tmp = cert_path.with_name(f".{cert_path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, cert_path)
    return key_path, cert_path


def _publish(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    try:
        os.link(tmp, path)  # fails if another worker won the race: then its key is the key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


# --- hardened decoding ------------------------------------------------------------------------


def decode_post(value: str | None) -> bytes:
    """The XML of an HTTP-POST message (Bindings §3.5.4): plain base64, size-capped."""
    if not value:
        raise SamlError("saml_missing_message", "No SAMLResponse or SAMLRequest was posted.")
    if len(value) > MAX_ENCODED:
        raise SamlError("saml_too_large", f"The SAML message is over {MAX_ENCODED} characters.")
    try:
        xml = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SamlError("saml_malformed", "The SAML message is not valid base64.") from exc
    if len(xml) > MAX_XML:
        raise SamlError("saml_too_large", f"The SAML message is over {MAX_XML} bytes.")
    return xml


def parse_untrusted(xml: bytes) -> etree._Element:
    """The root of an untrusted document: no DTD, no entities, no network (checklist 4b.1)."""
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise SamlError("saml_xml_forbidden", "The SAML message must not contain a DTD.")
    try:
        root = etree.fromstring(xml, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SamlError(
            "saml_malformed", f"The SAML message is not well-formed XML: {exc}"
        ) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # e.g. hidden by UTF-16
        raise SamlError("saml_xml_forbidden", "The SAML message must not contain a DTD.")
    return root


def saml(name: str) -> str:
    """Clark notation in the assertion namespace."""
    return f"{{{SAML}}}{name}"


def samlp(name: str) -> str:
    """Clark notation in the protocol namespace."""
    return f"{{{SAMLP}}}{name}"


def response_in_response_to(xml: bytes) -> str | None:
    """The InResponseTo of a Response, read before verification only to find the request."""
    root = parse_untrusted(xml)
    if root.tag != samlp("Response"):
        raise SamlError("saml_malformed", f"Expected a samlp:Response, got {root.tag}.")
    return root.get("InResponseTo")


def parse_instant(value: str | None) -> int:
    """Unix seconds of an xs:dateTime in UTC (Core §1.3.3)."""
    if not value:
        raise SamlError("saml_invalid_response", "A required time is missing.")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise SamlError("saml_invalid_response", f"Not an xs:dateTime: {value!r}") from exc
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())


# --- the service provider ---------------------------------------------------------------------


class ServiceProvider:
    """One per app: pysaml2 configured from our settings and the IdP's metadata, built lazily."""

    def __init__(
        self,
        settings: SpSettings,
        fetch_metadata: Callable[[str], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.fetch_metadata = fetch_metadata
        self.clock = clock
        self._lock = threading.Lock()
        self._client: Saml2Client | None = None
        self._idp_entity_id = ""
        self._fetched_at = 0.0

    # pysaml2 configuration

    def _config(self, idp_metadata: str | None) -> SPConfig:
        s = self.settings
        xmlsec = shutil.which("xmlsec1")
        if xmlsec is None:
            raise RuntimeError("pysaml2 needs Debian's xmlsec1 (make system-deps)")
        sp: dict[str, Any] = {
            "endpoints": {
                "assertion_consumer_service": [(s.acs_url, BINDING_HTTP_POST)],
                "single_logout_service": [
                    (s.slo_url, BINDING_HTTP_REDIRECT),
                    (s.slo_url, BINDING_HTTP_POST),
                ],
            },
            "name_id_format": NAMEID_PERSISTENT,
            "authn_requests_signed": s.sign_requests,
            "logout_requests_signed": s.sign_requests,
            "logout_responses_signed": s.sign_requests,
            "want_assertions_signed": True,
            "want_response_signed": False,
            # See the module docstring: InResponseTo is matched by parse_response.
            "allow_unsolicited": True,
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
        }
        config: dict[str, Any] = {
            "entityid": s.entity_id,
            "xmlsec_binary": xmlsec,
            "key_file": str(s.key_file),
            "cert_file": str(s.cert_file),
            "allow_unknown_attributes": True,
            "accepted_time_diff": s.clock_skew,
            "service": {"sp": sp},
        }
        if idp_metadata is not None:
            config["metadata"] = {"inline": [idp_metadata]}
        loaded = SPConfig()
        loaded.load(config)
        return loaded

    def metadata_xml(self) -> bytes:
        """Our EntityDescriptor (Metadata §2.4.4); needs no IdP, so it works with the IdP down."""
        return str(entity_descriptor(self._config(None))).encode()

    def client(self) -> Saml2Client:
        """pysaml2's client on the IdP's metadata, fetched on first use and every METADATA_TTL."""
        with self._lock:
            now = self.clock()
            if self._client is None or now - self._fetched_at >= METADATA_TTL:
                try:
                    xml = self.fetch_metadata(self.settings.idp_metadata_url)
                    root = parse_untrusted(xml.encode())
                except (OSError, ValueError, SamlError) as exc:
                    if self._client is None:
                        raise IdpMetadataUnavailable(str(exc)) from exc
                    self._fetched_at = now  # keep the known IdP until the next try
                    return self._client
                if root.tag != f"{{{MD}}}EntityDescriptor" or not root.get("entityID"):
                    raise IdpMetadataUnavailable("the IdP metadata is not an EntityDescriptor")
                self._client = Saml2Client(self._config(xml))
                self._idp_entity_id = root.get("entityID", "")
                self._fetched_at = now
            return self._client

    @property
    def idp_entity_id(self) -> str:
        """The IdP's entity id, from its metadata."""
        self.client()
        return self._idp_entity_id

    # Web Browser SSO

    def authn_request(self, relay_state: str) -> Outgoing:
        """A fresh AuthnRequest over HTTP-Redirect to the IdP's SSO service."""
        client = self.client()
        request_id, info = client.prepare_for_authenticate(
            entityid=self.idp_entity_id,
            relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT,
            nameid_format=NAMEID_PERSISTENT,
            sign=self.settings.sign_requests,
            sigalg=SIG_RSA_SHA256 if self.settings.sign_requests else None,
        )
        return Outgoing(request_id, location=dict(info["headers"])["Location"])

    def parse_response(self, encoded: str | None, request_id: str) -> SamlLogin:
        """A Response to `request_id`, validated by pysaml2 and by the checks it leaves to us."""
        xml = decode_post(encoded)
        root = parse_untrusted(xml)
        status = root.find(f"{samlp('Status')}/{samlp('StatusCode')}")
        if status is None or status.get("Value") != STATUS_SUCCESS:
            # Unsigned errors are fine to read: they only stop the login.
            codes = [code.get("Value") for code in root.iter(samlp("StatusCode"))]
            raise SamlError("saml_status", f"The IdP did not log the speaker in: {codes}")
        assertions = list(root.iter(saml("Assertion"), saml("EncryptedAssertion")))
        if len(assertions) != 1 or assertions[0].getparent() is not root:
            raise SamlError(
                "saml_invalid_response",
                f"{len(assertions)} assertions; exactly one, a child of the Response, is allowed.",
            )
        if root.get("InResponseTo") != request_id:
            raise SamlError("saml_unknown_request", "The Response answers another request.")
        if root.get("Destination") != self.settings.acs_url:
            raise SamlError(
                "saml_invalid_destination", f"Destination {root.get('Destination')!r} is not ours."
            )
        authn = self._verified(encoded or "")
        assertion = authn.assertion
        if assertion.id != assertions[0].get("ID"):
            raise SamlError("saml_invalid_response", "The verified assertion is not the one sent.")
        if authn.issuer() != self.idp_entity_id or assertion.issuer.text != self.idp_entity_id:
            raise SamlError("saml_invalid_issuer", "The Response is not from our IdP.")
        not_on_or_after = self._acs_confirmation(assertions[0], request_id)
        name_id = authn.name_id
        if name_id is None or not (name_id.text or "").strip():
            raise SamlError("saml_invalid_response", "The assertion has no NameID.")
        statements = assertion.authn_statement or []
        return SamlLogin(
            name_id=name_id.text.strip(),
            name_id_format=name_id.format,
            session_index=statements[0].session_index if statements else None,
            attributes=_attributes(assertion),
            assertion_id=assertion.id,
            # lxml serialises the subtree with the namespaces it uses; exclusive c14n (what the
            # IdP signs with) ignores the rest, so the signature verifies on the element alone.
            assertion_xml=etree.tostring(assertions[0]),
            not_on_or_after=not_on_or_after,
        )

    def _verified(self, encoded: str) -> Any:
        """pysaml2's AuthnResponse, or SamlError with the reason mapped to a code."""
        try:
            authn = self.client().parse_authn_request_response(encoded, BINDING_HTTP_POST)
        except MissingKey as exc:  # pysaml2 knows no key for that Issuer in the IdP metadata
            raise SamlError("saml_invalid_issuer", f"Unknown issuer {exc}.") from exc
        except SignatureError as exc:
            raise SamlError("saml_invalid_signature", f"Signature check failed: {exc}") from exc
        except (ResponseLifetimeExceed, ToEarly) as exc:
            raise SamlError("saml_expired", f"Outside the assertion's time window: {exc}") from exc
        except IdpMetadataUnavailable:
            raise
        except (SAMLError, ValueError, KeyError, AttributeError, TypeError) as exc:
            raise SamlError("saml_invalid_response", _describe(exc)) from exc
        except Exception as exc:  # pysaml2 raises bare Exception for several checks
            raise SamlError("saml_invalid_response", _describe(exc)) from exc
        if authn is None or authn.assertion is None:
            raise SamlError("saml_invalid_response", "pysaml2 refused the Response.")
        return authn

    def _acs_confirmation(self, assertion: etree._Element, request_id: str) -> int:
        """The NotOnOrAfter of a bearer confirmation for our ACS and this request (§4.1.4.2)."""
        now = self.clock()
        for confirmation in assertion.iterfind(f"{saml('Subject')}/{saml('SubjectConfirmation')}"):
            data = confirmation.find(saml("SubjectConfirmationData"))
            if confirmation.get("Method") != BEARER or data is None:
                continue
            if data.get("Recipient") != self.settings.acs_url:
                continue
            if data.get("InResponseTo") != request_id:
                raise SamlError(
                    "saml_unknown_request", "The bearer confirmation answers another request."
                )
            expiry = parse_instant(data.get("NotOnOrAfter"))
            if now - self.settings.clock_skew >= expiry:
                raise SamlError("saml_expired", "The bearer confirmation has expired.")
            return expiry
        raise SamlError("saml_invalid_recipient", "No bearer confirmation names our ACS.")

    # Single Logout

    def logout_request(
        self, name_id: str, name_id_format: str | None, session_index: str | None
    ) -> Outgoing:
        """An SP-initiated LogoutRequest over HTTP-Redirect (Profiles §4.4.3.1)."""
        client = self.client()
        destination = self._idp_slo(BINDING_HTTP_REDIRECT)
        request_id, request = client.create_logout_request(
            destination,
            self.idp_entity_id,
            name_id=NameID(text=name_id, format=name_id_format),
            session_indexes=[session_index] if session_index else None,
            expire=_instant(self.clock() + 300),
            sign=False,  # over Redirect the query is signed, not the XML (Bindings §3.4.4.1)
        )
        info = client.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(request),
            destination,
            "",
            sign=self.settings.sign_requests,
            sigalg=SIG_RSA_SHA256 if self.settings.sign_requests else None,
        )
        return Outgoing(request_id, location=dict(info["headers"])["Location"])

    def parse_logout_request(
        self, binding: str, message: str, relay_state: str | None, query: dict[str, str]
    ) -> IdpLogoutRequest:
        """The IdP's LogoutRequest, its signature checked against the IdP's metadata."""
        if binding == "post":
            decode_post(message)  # size and base64 before pysaml2 parses it
        elif len(message) > MAX_ENCODED:
            raise SamlError("saml_too_large", "The SAML message is too large.")
        try:
            parsed = self.client().parse_logout_request(
                message,
                BINDINGS[binding],
                relay_state=relay_state,
                sigalg=query.get("SigAlg"),
                signature=query.get("Signature"),
            )
        except IdpMetadataUnavailable:
            raise
        except Exception as exc:  # pysaml2 raises bare Exception for several checks
            raise SamlError("saml_invalid_logout_request", _describe(exc)) from exc
        if parsed is None:
            raise SamlError("saml_invalid_logout_request", "pysaml2 refused the LogoutRequest.")
        request = parsed.message
        if request.issuer is None or request.issuer.text != self.idp_entity_id:
            raise SamlError("saml_invalid_issuer", "The LogoutRequest is not from our IdP.")
        if binding == "redirect" and not query.get("Signature"):
            raise SamlError("saml_unsigned", "The IdP's LogoutRequest must be signed.")
        if binding == "post" and request.signature is None:
            raise SamlError("saml_unsigned", "The IdP's LogoutRequest must be signed.")
        if request.name_id is None or not request.name_id.text:
            raise SamlError("saml_invalid_logout_request", "The LogoutRequest has no NameID.")
        indexes = [index.text for index in request.session_index or [] if index.text]
        return IdpLogoutRequest(request, request.name_id.text, indexes, binding, relay_state)

    def logout_response(self, request: IdpLogoutRequest, success: bool) -> Outgoing:
        """Our LogoutResponse, over the binding the IdP's request came by."""
        client = self.client()
        binding = BINDINGS[request.binding]
        status = None
        if not success:
            status = Status(
                status_code=StatusCode(
                    value=STATUS_RESPONDER, status_code=StatusCode(value=STATUS_UNKNOWN_PRINCIPAL)
                )
            )
        destination = self._idp_slo(binding)
        sign_xml = self.settings.sign_requests and binding == BINDING_HTTP_POST
        response = client.create_logout_response(
            request.request, [binding], status=status, sign=sign_xml
        )
        if binding == BINDING_HTTP_REDIRECT:
            info = client.apply_binding(
                binding,
                str(response),
                destination,
                request.relay_state or "",
                response=True,
                sign=self.settings.sign_requests,
                sigalg=SIG_RSA_SHA256 if self.settings.sign_requests else None,
            )
            return Outgoing(None, location=dict(info["headers"])["Location"])
        fields = {"SAMLResponse": base64.b64encode(str(response).encode()).decode("ascii")}
        if request.relay_state:
            fields["RelayState"] = request.relay_state
        return Outgoing(None, form_action=destination, form_fields=fields)

    def parse_logout_response(
        self, binding: str, message: str, query: dict[str, str], outstanding: list[str]
    ) -> bool:
        """Whether the IdP's LogoutResponse to one of `outstanding` says Success."""
        if binding == "post":
            decode_post(message)
        elif len(message) > MAX_ENCODED:
            raise SamlError("saml_too_large", "The SAML message is too large.")
        try:
            parsed = self.client().parse_logout_request_response(message, BINDINGS[binding])
        except IdpMetadataUnavailable:
            raise
        except Exception as exc:  # pysaml2 raises bare Exception for several checks
            raise SamlError("saml_invalid_logout_response", _describe(exc)) from exc
        if parsed is None:
            raise SamlError("saml_invalid_logout_response", "pysaml2 refused the LogoutResponse.")
        if parsed.in_response_to not in outstanding:
            raise SamlError("saml_unknown_request", "The LogoutResponse answers no logout of ours.")
        if parsed.issuer() != self.idp_entity_id:
            raise SamlError("saml_invalid_issuer", "The LogoutResponse is not from our IdP.")
        return parsed.status_ok()

    def _idp_slo(self, binding: str) -> str:
        client = self.client()
        locations = client.metadata.single_logout_service(self.idp_entity_id, binding, "idpsso")
        if not locations:
            raise SamlError("saml_no_slo", "The IdP publishes no single logout service.")
        return locations[0]["location"]


def _attributes(assertion: Any) -> dict[str, list[str]]:
    """Attribute name -> text values, read from pysaml2's verified assertion (names as sent)."""
    attributes: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement or []:
        for attribute in statement.attribute or []:
            values = [value.text or "" for value in attribute.attribute_value or []]
            attributes.setdefault(attribute.name, []).extend(values)
    return attributes


def _instant(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
