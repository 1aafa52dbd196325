"""IdP metadata (SAML Metadata §2.3.2, §2.4.3): entity id, signing certificate, SSO and SLO."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from mock_idp.saml.assertion import DS
from mock_idp.saml.sp import NAMEID_FORMATS

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


@dataclass(frozen=True)
class Endpoints:
    """Absolute URLs of the IdP's SAML services, one per binding."""

    sso_redirect: str
    sso_post: str
    slo_redirect: str
    slo_post: str


def entity_descriptor(
    entity_id: str, cert_base64: str, endpoints: Endpoints, want_requests_signed: bool = False
) -> bytes:
    """The EntityDescriptor document; children in the order the schema requires.

    WantAuthnRequestsSigned is true only when every SP must sign (SAML_WANT_REQUESTS_SIGNED);
    a requirement on single SPs lives in their registrations, which metadata cannot express.
    """
    root = etree.Element(f"{{{MD}}}EntityDescriptor", nsmap={"md": MD}, entityID=entity_id)
    idp = etree.SubElement(
        root,
        f"{{{MD}}}IDPSSODescriptor",
        protocolSupportEnumeration=PROTOCOL,
        WantAuthnRequestsSigned="true" if want_requests_signed else "false",
    )
    key = etree.SubElement(idp, f"{{{MD}}}KeyDescriptor", use="signing")
    key_info = etree.SubElement(key, f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
    x509_data = etree.SubElement(key_info, f"{{{DS}}}X509Data")
    etree.SubElement(x509_data, f"{{{DS}}}X509Certificate").text = cert_base64
    for binding, url in (
        (BINDING_REDIRECT, endpoints.slo_redirect),
        (BINDING_POST, endpoints.slo_post),
    ):
        etree.SubElement(idp, f"{{{MD}}}SingleLogoutService", Binding=binding, Location=url)
    for uri in NAMEID_FORMATS.values():
        etree.SubElement(idp, f"{{{MD}}}NameIDFormat").text = uri
    for binding, url in (
        (BINDING_REDIRECT, endpoints.sso_redirect),
        (BINDING_POST, endpoints.sso_post),
    ):
        etree.SubElement(idp, f"{{{MD}}}SingleSignOnService", Binding=binding, Location=url)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
