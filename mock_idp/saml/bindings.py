"""SAML message encodings (SAML Bindings §3.4 HTTP-Redirect, §3.5 HTTP-POST) and hardened parsing.

Everything a browser brings is untrusted: sizes are capped before and after inflating, and the XML
parser loads no DTD, resolves no entity and touches no network (security checklist 4b.1).
"""

from __future__ import annotations

import base64
import binascii
import zlib

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
