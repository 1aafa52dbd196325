"""SAML message encodings (SAML Bindings §3.4 HTTP-Redirect, §3.5 HTTP-POST) and hardened parsing.

Everything a browser brings is untrusted: sizes are capped before and after inflating, and the XML
parser loads no DTD, resolves no entity and touches no network (security checklist 4b.1).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from lxml import etree

from mock_idp.saml.errors import SamlRequestError

# A real AuthnRequest or LogoutRequest is 1-4 KB; identizer caps SAMLRequest at 100,000.
MAX_ENCODED = 100_000
MAX_XML = 100_000

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_pis=True,
)


def _b64decode(value: str) -> bytes:
    if len(value) > MAX_ENCODED:
        raise SamlRequestError("The SAML message is too large.")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SamlRequestError("The SAML message is not valid base64.") from exc


def decode_redirect(value: str) -> bytes:
    """XML of an HTTP-Redirect message: base64 of raw DEFLATE, inflated to at most MAX_XML."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        xml = inflater.decompress(_b64decode(value), MAX_XML)
    except zlib.error as exc:
        raise SamlRequestError("The SAML message is not valid DEFLATE data.") from exc
    if inflater.unconsumed_tail:  # more output was waiting: a deflate bomb or just too big
        raise SamlRequestError("The SAML message is too large.")
    return xml


def decode_post(value: str) -> bytes:
    """XML of an HTTP-POST message: plain base64."""
    xml = _b64decode(value)
    if len(xml) > MAX_XML:
        raise SamlRequestError("The SAML message is too large.")
    return xml


def encode_redirect(xml: bytes) -> str:
    """base64 of raw DEFLATE, for a message sent over HTTP-Redirect."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return base64.b64encode(deflater.compress(xml) + deflater.flush()).decode("ascii")


def encode_post(xml: bytes) -> str:
    """base64, for a message sent over HTTP-POST."""
    return base64.b64encode(xml).decode("ascii")


def parse_xml(data: bytes) -> etree._Element:
    """The root of an untrusted document; a DOCTYPE (XXE, billion laughs) is refused."""
    if len(data) > MAX_XML:
        raise SamlRequestError("The SAML message is too large.")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SamlRequestError("The SAML message is not well-formed XML.") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise SamlRequestError("The SAML message must not contain a DTD.")
    return root


@dataclass(frozen=True)
class QuerySignature:
    """An HTTP-Redirect signature: the octets it covers, as received, and what signs them."""

    signed_octets: bytes
    sig_alg: str
    signature: bytes


@dataclass(frozen=True)
class Inbound:
    """A SAML message as it arrived: its XML, RelayState, binding and any query signature."""

    xml: bytes
    relay_state: str | None
    binding: str  # "redirect" | "post"
    query_signature: QuerySignature | None = None


_QUERY_NAMES = ("SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature")


def receive_redirect(raw_query: bytes, param: str) -> Inbound:
    """An HTTP-Redirect message from the raw query string (Bindings §3.4.4.1).

    The signed octets are rebuilt from the values exactly as they were URL-encoded on the wire,
    in the order the spec fixes, since URL-encoding is not canonical.
    """
    if len(raw_query) > 2 * MAX_ENCODED:
        raise SamlRequestError("The SAML message is too large.")
    raw: dict[str, str] = {}
    for pair in raw_query.decode("latin-1").split("&"):
        name, _, value = pair.partition("=")
        name = unquote_plus(name)
        if name not in _QUERY_NAMES:
            continue
        if name in raw:
            raise SamlRequestError(f"{name} must appear only once.")
        raw[name] = value
    if not raw.get(param):
        raise SamlRequestError(f"{param} is required.")
    relay_state = unquote_plus(raw["RelayState"]) if "RelayState" in raw else None
    signature = None
    if "Signature" in raw or "SigAlg" in raw:
        if not raw.get("Signature") or not raw.get("SigAlg"):
            raise SamlRequestError("A signed message needs both SigAlg and Signature.")
        signed = "&".join(f"{n}={raw[n]}" for n in (param, "RelayState", "SigAlg") if n in raw)
        try:
            value = base64.b64decode(unquote_plus(raw["Signature"]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SamlRequestError("The Signature is not valid base64.") from exc
        signature = QuerySignature(signed.encode("latin-1"), unquote_plus(raw["SigAlg"]), value)
    xml = decode_redirect(unquote_plus(raw[param]))
    return Inbound(xml, relay_state, "redirect", signature)


def receive_post(form: Mapping[str, str], param: str) -> Inbound:
    """An HTTP-POST message from the form (Bindings §3.5.4); any signature is inside the XML."""
    value = form.get(param)
    if not value:
        raise SamlRequestError(f"{param} is required.")
    return Inbound(decode_post(value), form.get("RelayState"), "post")
