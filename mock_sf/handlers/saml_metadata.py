"""Trusted SAML IdPs (config ``TRUSTED_SAML_IDPS``) and their signing certificates.

A certificate comes from configuration only: a PEM given inline or by file path, or the IdP's
metadata (SAML Metadata §2.4.1.1 KeyDescriptor) fetched lazily from the configured URL and cached.
The certificate an assertion carries in ``KeyInfo`` is never used (security checklist 4b.2).
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import time
from collections.abc import Callable
from collections.abc import Hashable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from lxml import etree

from mock_sf.handlers.remote import RefreshingCache

logger = logging.getLogger(__name__)

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
MAX_METADATA_BYTES = 1_000_000

# Untrusted XML: no DTD, no entities, no network, no huge trees (security checklist 4b.1).
SAFE_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_pis=True,
)

Fetch = Callable[[str, float], bytes]


class UnsafeXml(ValueError):
    """The XML has a DTD or entity declarations, which untrusted input may not carry."""


def parse_untrusted(xml: bytes) -> etree._Element:
    """Parse untrusted XML; refuse any DTD (XXE, billion laughs) before and after parsing."""
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise UnsafeXml("DTD or entity declaration in the XML")
    root = etree.fromstring(xml, SAFE_PARSER)  # raises etree.XMLSyntaxError
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXml("DTD in the XML")  # e.g. hidden from the byte scan by UTF-16
    if next(root.iter(etree.Entity), None) is not None:
        raise UnsafeXml("entity reference in the XML")
    return root


@dataclass(frozen=True)
class TrustedSamlIdp:
    """One entry of TRUSTED_SAML_IDPS: entity id plus certificate PEM, path, or metadata URL.

    `federation_issuer` is the namespace of its NameIDs in FederationIdentifier (`<ns>|<NameID>`):
    by default the entity id; an IdP whose SAML and OIDC sides share one directory (persistent
    NameID = OIDC `sub`) names its OIDC issuer, so a speaker is one user whichever way she comes.
    """

    entity_id: str
    certificate_pems: tuple[str, ...] = ()
    metadata_url: str | None = None
    federation_issuer: str | None = None

    @property
    def subject_namespace(self) -> str:
        """What prefixes this IdP's NameIDs in FederationIdentifier."""
        return self.federation_issuer or self.entity_id

    @classmethod
    def from_config(cls, entry: Mapping[str, Any]) -> TrustedSamlIdp:
        """Build from a config dict: entity_id, certificate, certificate_path, metadata_url."""
        pems = []
        if entry.get("certificate"):
            pems.append(str(entry["certificate"]))
        if entry.get("certificate_path"):
            pems.append(Path(entry["certificate_path"]).read_text())
        if not pems and not entry.get("metadata_url"):
            raise ValueError(f"SAML IdP {entry['entity_id']}: no certificate and no metadata_url")
        return cls(
            entry["entity_id"],
            tuple(pems),
            entry.get("metadata_url"),
            entry.get("federation_issuer"),
        )


def trusted_saml_idps(config: Mapping[str, Any]) -> dict[str, TrustedSamlIdp]:
    """The configured IdPs by entity id."""
    idps = (TrustedSamlIdp.from_config(entry) for entry in config["TRUSTED_SAML_IDPS"] or ())
    return {idp.entity_id: idp for idp in idps}


@functools.lru_cache(maxsize=32)
def load_pem_certificate(pem: str) -> x509.Certificate:
    """A configured PEM, parsed once per process."""
    return x509.load_pem_x509_certificate(pem.encode())


def fetch_metadata(url: str, timeout: float) -> bytes:
    """GET the metadata document; raise on any HTTP problem or an oversized body."""
    response = requests.get(
        url, timeout=timeout, headers={"Accept": "application/samlmetadata+xml, application/xml"}
    )
    response.raise_for_status()
    if len(response.content) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata over {MAX_METADATA_BYTES} bytes")
    return response.content


def signing_certificates(metadata: bytes, entity_id: str) -> list[x509.Certificate]:
    """The IdP's signing certificates from its EntityDescriptor (KeyDescriptor use signing)."""
    root = parse_untrusted(metadata)
    descriptors = [root] if root.tag == f"{{{MD}}}EntityDescriptor" else []
    descriptors += root.findall(f".//{{{MD}}}EntityDescriptor")
    entity = next((d for d in descriptors if d.get("entityID") == entity_id), None)
    if entity is None:
        raise ValueError(f"metadata has no EntityDescriptor for {entity_id}")
    certificates = []
    for key in entity.findall(f"{{{MD}}}IDPSSODescriptor/{{{MD}}}KeyDescriptor"):
        if key.get("use") not in (None, "signing"):
            continue
        for cert in key.iterfind(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"):
            der = base64.b64decode("".join((cert.text or "").split()), validate=True)
            certificates.append(x509.load_der_x509_certificate(der))
    if not certificates:
        raise ValueError(f"metadata for {entity_id} has no signing certificate")
    return certificates


class SamlCertificates(RefreshingCache[list[x509.Certificate]]):
    """Signing certificates per trusted IdP: configured PEMs, else metadata cached ``ttl`` s and
    refetched (at most once per ``cooldown`` s) when asked to after a failed verification."""

    what = "SAML metadata"
    errors = (requests.RequestException, etree.XMLSyntaxError, binascii.Error, ValueError)

    def __init__(
        self,
        fetch: Fetch = fetch_metadata,
        *,
        ttl: float = 3600,
        cooldown: float = 30,
        timeout: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(fetch, ttl=ttl, cooldown=cooldown, timeout=timeout, clock=clock)

    def for_idp(self, idp: TrustedSamlIdp, *, refresh: bool = False) -> list[x509.Certificate]:
        """The certificates to verify with; empty if none can be had (fail closed)."""
        if idp.certificate_pems:
            return [load_pem_certificate(pem) for pem in idp.certificate_pems]
        assert idp.metadata_url is not None  # from_config guarantees one or the other
        key = (idp.metadata_url, idp.entity_id)
        return list(self.cached(key, idp.metadata_url, refresh=refresh))

    def _empty(self) -> list[x509.Certificate]:
        return []

    def _parse(self, document: Any, key: Hashable) -> list[x509.Certificate]:
        _, entity_id = key  # (metadata URL, entity id), as for_idp makes it
        return signing_certificates(document, entity_id)
