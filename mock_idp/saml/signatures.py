"""Signed messages from SPs: HTTP-Redirect query signatures (Bindings §3.4.4.1) and HTTP-POST
enveloped XML signatures (Bindings §3.5.4, Core §5), checked against the SP's registered
certificate only, never a key the message carries in KeyInfo. Also signs the IdP's own
Redirect-binding messages.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from urllib.parse import quote
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from lxml import etree
from signxml import SignatureMethod
from signxml import XMLVerifier
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration

from mock_idp.saml import bindings
from mock_idp.saml.assertion import DS
from mock_idp.saml.credential import SigningCredential
from mock_idp.saml.errors import SamlRequestError

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
_XML_CONFIG = SignatureConfiguration(
    location="./",  # the root's own enveloped signature, nothing nested
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
)


@lru_cache(maxsize=64)
def load_certificate(pem: str) -> x509.Certificate:
    """A registered SP certificate, parsed once per distinct PEM."""
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise SamlRequestError("The SP's registered certificate cannot be read.") from exc


def verify_query(signature: bindings.QuerySignature, cert: x509.Certificate) -> None:
    """Check a Redirect-binding signature over the octets as received; RSA-SHA256 only."""
    if signature.sig_alg != RSA_SHA256:
        raise SamlRequestError("Only SigAlg RSA-SHA256 is accepted.")
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SamlRequestError("The SP's registered certificate is not an RSA certificate.")
    try:
        public_key.verify(signature.signature, signature.signed_octets, PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SamlRequestError("The message signature is not valid.") from exc


def verify_xml(root: etree._Element, cert: x509.Certificate) -> etree._Element:
    """The root as signed (signxml's output): exactly one enveloped signature covering it."""
    if len(root.findall(f"{{{DS}}}Signature")) != 1:
        raise SamlRequestError("The message must carry exactly one signature.")
    try:
        result = XMLVerifier().verify(
            root, x509_cert=cert, id_attribute="ID", expect_config=_XML_CONFIG
        )
    except (SignXMLException, InvalidSignature) as exc:
        raise SamlRequestError("The message signature is not valid.") from exc
    signed = result.signed_xml
    # The reference must be the root itself, not some other element that happens to be signed.
    if signed is None or signed.tag != root.tag or signed.get("ID") != root.get("ID"):
        raise SamlRequestError("The signature does not cover the whole message.")
    return signed


def trusted_root(
    root: etree._Element, inbound: bindings.Inbound, certificate: str | None, required: bool
) -> etree._Element:
    """The message to act on after the signature policy: the signed root or the root.

    A signature that is present is checked whenever a certificate is registered; a required one
    must be present; without a certificate a required signature cannot be checked, so it fails.
    """
    cert = load_certificate(certificate) if certificate else None
    if required and cert is None:
        raise SamlRequestError("This SP must sign its messages but has no certificate registered.")
    if inbound.binding == "redirect":
        # Bindings §3.4.4.1: over Redirect the signature is on the query, never inside the XML.
        if inbound.query_signature is None:
            if required:
                raise SamlRequestError("The message must be signed (SigAlg and Signature).")
            return root
        if cert is not None:
            verify_query(inbound.query_signature, cert)
        return root
    if root.find(f"{{{DS}}}Signature") is None:
        if required:
            raise SamlRequestError("The message must carry an XML signature.")
        return root
    return verify_xml(root, cert) if cert is not None else root


def redirect_url(
    url: str, param: str, xml: bytes, relay_state: str | None, credential: SigningCredential
) -> str:
    """`url` with the deflated message, signed over the query (Bindings §3.4.4.1)."""
    parts = [(param, bindings.encode_redirect(xml))]
    if relay_state:
        parts.append(("RelayState", relay_state))
    parts.append(("SigAlg", RSA_SHA256))
    signed = "&".join(f"{name}={quote(value, safe='')}" for name, value in parts)
    signature = credential.key.sign(signed.encode("ascii"), PKCS1v15(), hashes.SHA256())
    query = signed + "&Signature=" + quote(base64.b64encode(signature).decode(), safe="")
    return url + ("&" if urlsplit(url).query else "?") + query
