"""SAML service provider registrations: what the IdP trusts an AuthnRequest to ask for."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import false
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_idp.models import db
from mock_idp.saml.errors import SamlRequestError
from mock_idp.saml.errors import UnknownServiceProviderError

NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_FORMATS = {"email": NAMEID_EMAIL, "persistent": NAMEID_PERSISTENT}
SLO_BINDINGS = ("redirect", "post")


class ServiceProvider(db.Model):
    """A registered SP: its entity id, where responses may go, and how they are signed."""

    __tablename__ = "saml_service_providers"

    entity_id: Mapped[str] = mapped_column(String(1000), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    acs_urls: Mapped[list[str]] = mapped_column(JSON)  # the first is the default
    slo_url: Mapped[str | None] = mapped_column(String(2000))
    sign_response: Mapped[bool] = mapped_column(default=True)
    sign_assertion: Mapped[bool] = mapped_column(default=True)
    nameid_format: Mapped[str] = mapped_column(String(20), default="email")
    certificate: Mapped[str | None] = mapped_column(Text)  # PEM, optional
    # Single logout requests go to slo_url over this binding; requests from the SP must be signed
    # (with `certificate`) when want_requests_signed or the IdP-wide SAML_WANT_REQUESTS_SIGNED.
    slo_binding: Mapped[str] = mapped_column(
        String(10), default="redirect", server_default="redirect"
    )
    want_requests_signed: Mapped[bool] = mapped_column(default=False, server_default=false())
    # An SP that exchanges its assertion at Salesforce (RFC 8693 / RFC 7522) also needs that
    # relying party named as an Audience and as a bearer Recipient (assertion.build_assertion).
    exchange_audience: Mapped[str | None] = mapped_column(String(1000))
    exchange_recipient: Mapped[str | None] = mapped_column(String(2000))

    @property
    def nameid_format_uri(self) -> str:
        """The NameID format URN this SP gets."""
        return NAMEID_FORMATS[self.nameid_format]


def get(entity_id: str | None) -> ServiceProvider:
    """The SP registered under `entity_id`, or UnknownServiceProviderError."""
    sp = db.session.get(ServiceProvider, entity_id) if entity_id else None
    if sp is None:
        raise UnknownServiceProviderError("This service provider is not registered here.")
    return sp


def acs_url(sp: ServiceProvider, requested: str | None) -> str:
    """The ACS URL to answer at: the requested one only if registered verbatim."""
    if requested is None:
        return sp.acs_urls[0]
    if requested not in sp.acs_urls:
        raise SamlRequestError("AssertionConsumerServiceURL is not registered for this SP.")
    return requested


def seed(entries: Iterable[Mapping[str, Any]], config: Mapping[str, Any]) -> None:
    """Upsert `[[saml_sps]]` rows by entity id; placeholders follow the configured peer URLs."""
    for entry in entries:
        entity_id = _fill(entry["entity_id"], config)
        if entry.get("nameid_format", "email") not in NAMEID_FORMATS:
            raise ValueError(f"nameid_format must be one of {sorted(NAMEID_FORMATS)}")
        if not (entry.get("sign_response", True) or entry.get("sign_assertion", True)):
            raise ValueError(f"{entity_id}: sign the Response, the Assertion, or both")
        if entry.get("slo_binding", "redirect") not in SLO_BINDINGS:
            raise ValueError(f"slo_binding must be one of {list(SLO_BINDINGS)}")
        if entry.get("want_requests_signed") and not entry.get("certificate"):
            raise ValueError(f"{entity_id}: want_requests_signed needs a certificate")
        if bool(entry.get("exchange_audience")) != bool(entry.get("exchange_recipient")):
            raise ValueError(f"{entity_id}: set exchange_audience and exchange_recipient together")
        sp = db.session.get(ServiceProvider, entity_id)
        if sp is None:
            sp = ServiceProvider(entity_id=entity_id)
            db.session.add(sp)
        sp.name = entry["name"]
        sp.acs_urls = [_fill(url, config) for url in entry["acs_urls"]]
        sp.slo_url = _fill(entry["slo_url"], config) if entry.get("slo_url") else None
        sp.sign_response = bool(entry.get("sign_response", True))
        sp.sign_assertion = bool(entry.get("sign_assertion", True))
        sp.nameid_format = entry.get("nameid_format", "email")
        sp.certificate = entry.get("certificate")
        sp.slo_binding = entry.get("slo_binding", "redirect")
        sp.want_requests_signed = bool(entry.get("want_requests_signed", False))
        sp.exchange_audience = _fill_optional(entry.get("exchange_audience"), config)
        sp.exchange_recipient = _fill_optional(entry.get("exchange_recipient"), config)


def _fill_optional(value: str | None, config: Mapping[str, Any]) -> str | None:
    return _fill(value, config) if value else None


def _fill(value: str, config: Mapping[str, Any]) -> str:
    for key in ("PORTAL_URL", "IDP_URL", "SF_URL"):
        value = value.replace("{" + key + "}", config[key])
    return value
