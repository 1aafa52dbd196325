"""Single logout: an SP's LogoutRequest over HTTP-Redirect or HTTP-POST ends the IdP session
(SAML Profiles §4.4; Core §3.7), answered with a signed LogoutResponse over the same binding.

This IdP does not propagate the logout to other SPs: it ends its own session, which is what the
speaker portal needs, and says so in the README fidelity table.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from urllib.parse import quote
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from flask import Response
from flask import current_app
from flask import redirect
from flask import request
from lxml import etree

from mock_idp import login
from mock_idp.saml import bindings
from mock_idp.saml import sp as registry
from mock_idp.saml.assertion import build_response
from mock_idp.saml.assertion import drop_placeholder
from mock_idp.saml.assertion import saml_tag
from mock_idp.saml.assertion import samlp_tag
from mock_idp.saml.assertion import sign
from mock_idp.saml.credential import SigningCredential
from mock_idp.saml.credential import signing_credential
from mock_idp.saml.errors import SamlRequestError
from mock_idp.saml.sso import post_form

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


@dataclass(frozen=True)
class LogoutRequest:
    """A LogoutRequest from a registered SP that has a logout URL."""

    request_id: str
    sp: registry.ServiceProvider
    slo_url: str


def parse_logout_request(xml: bytes) -> LogoutRequest:
    """Check a LogoutRequest: well-formed, SAML 2.0, from a registered SP with an SLO URL."""
    root = bindings.parse_xml(xml)
    if root.tag != samlp_tag("LogoutRequest"):
        raise SamlRequestError("Expected a samlp:LogoutRequest.")
    if root.get("Version") != "2.0" or not root.get("ID"):
        raise SamlRequestError("The LogoutRequest must be SAML 2.0 and have an ID.")
    issuer = root.find(saml_tag("Issuer"))
    sp = registry.get(issuer.text.strip() if issuer is not None and issuer.text else None)
    if not sp.slo_url:
        raise SamlRequestError("This service provider has no single logout URL registered.")
    return LogoutRequest(root.get("ID", ""), sp, sp.slo_url)


def logout_response(req: LogoutRequest, issuer: str, credential: SigningCredential | None) -> bytes:
    """A Success LogoutResponse to `req`, signed inside when a credential is given (POST)."""
    response = build_response(
        issuer=issuer,
        destination=req.slo_url,
        in_response_to=req.request_id,
        now=int(time.time()),
        tag="LogoutResponse",
    )
    if credential is None:
        return etree.tostring(drop_placeholder(response), encoding="UTF-8")
    return etree.tostring(sign(response, credential), encoding="UTF-8")


def redirect_location(
    slo_url: str, xml: bytes, relay_state: str | None, credential: SigningCredential
) -> str:
    """The SP's SLO URL with the deflated message, signed over the query (Bindings §3.4.4.1)."""
    parts = [("SAMLResponse", bindings.encode_redirect(xml))]
    if relay_state:
        parts.append(("RelayState", relay_state))
    parts.append(("SigAlg", RSA_SHA256))
    signed = "&".join(f"{name}={quote(value, safe='')}" for name, value in parts)
    signature = credential.key.sign(signed.encode("ascii"), PKCS1v15(), hashes.SHA256())
    query = signed + "&Signature=" + quote(base64.b64encode(signature).decode(), safe="")
    return slo_url + ("&" if urlsplit(slo_url).query else "?") + query


def redirect_binding() -> Response:
    """GET /saml/slo/redirect."""
    value = request.args.get("SAMLRequest")
    if not value:
        raise SamlRequestError("SAMLRequest is required.")
    req = parse_logout_request(bindings.decode_redirect(value))
    login.end_session()
    credential = signing_credential()
    # Bindings §3.4.4.1: over Redirect the signature is on the query, never inside the XML.
    xml = logout_response(req, current_app.config["SAML_ENTITY_ID"], None)
    return redirect(redirect_location(req.slo_url, xml, request.args.get("RelayState"), credential))


def post_binding() -> Response:
    """POST /saml/slo/post."""
    value = request.form.get("SAMLRequest")
    if not value:
        raise SamlRequestError("SAMLRequest is required.")
    req = parse_logout_request(bindings.decode_post(value))
    login.end_session()
    xml = logout_response(req, current_app.config["SAML_ENTITY_ID"], signing_credential())
    return post_form(req.slo_url, "SAMLResponse", xml, request.form.get("RelayState"), req.sp.name)
