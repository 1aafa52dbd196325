"""Single sign-on: SP-initiated over HTTP-Redirect and HTTP-POST, and IdP-initiated
(SAML Profiles §4.1 Web Browser SSO; Bindings §3.4, §3.5).

One IdP session serves OIDC and SAML: a signed-in speaker is answered at once; otherwise the request
is parked in the session while they sign in (login.require_login), then resumed.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict
from dataclasses import dataclass
from typing import Any

from flask import Response
from flask import current_app
from flask import make_response
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from lxml import etree

from mock_idp import login
from mock_idp.models import User
from mock_idp.saml import bindings
from mock_idp.saml import sessions
from mock_idp.saml import signatures
from mock_idp.saml import sp as registry
from mock_idp.saml.assertion import AssertionSpec
from mock_idp.saml.assertion import build_response
from mock_idp.saml.assertion import saml_attributes
from mock_idp.saml.assertion import saml_tag
from mock_idp.saml.assertion import samlp_tag
from mock_idp.saml.assertion import sign
from mock_idp.saml.assertion import signed_response
from mock_idp.saml.credential import signing_credential
from mock_idp.saml.errors import SamlRequestError
from mock_idp.saml.sp import NAMEID_UNSPECIFIED
from mock_idp.saml.sp import ServiceProvider

PENDING_KEY = "saml_pending"
SESSION_INDEX_KEY = "saml_session_index"
MAX_RELAY_STATE = 80  # SAML Bindings §3.4.3: "MUST NOT exceed 80 bytes"


@dataclass(frozen=True)
class PendingSso:
    """A verified sign-on request: who asked, where the answer goes, what to echo."""

    sp_entity_id: str
    acs_url: str
    request_id: str | None
    relay_state: str | None
    force_authn: bool
    is_passive: bool
    requested_at: float


def parse_authn_request(
    inbound: bindings.Inbound, sso_urls: tuple[str, ...], now: float, want_signed: bool = False
) -> PendingSso:
    """Check an AuthnRequest against the SP registry (Core §3.4.1, Profiles §4.1.4.1).

    Its signature is checked with the SP's registered certificate before anything else in it is
    believed; it must be signed when the SP or the IdP (`want_signed`) says so.
    """
    root = bindings.parse_xml(inbound.xml)
    if root.tag != samlp_tag("AuthnRequest"):
        raise SamlRequestError("Expected a samlp:AuthnRequest.")
    if root.get("Version") != "2.0":
        raise SamlRequestError("Only SAML 2.0 requests are accepted.")
    request_id = root.get("ID")
    if not request_id:
        raise SamlRequestError("The AuthnRequest has no ID.")
    issuer = root.find(saml_tag("Issuer"))
    sp = registry.get(issuer.text.strip() if issuer is not None and issuer.text else None)
    required = want_signed or sp.want_requests_signed
    root = signatures.trusted_root(root, inbound, sp.certificate, required)
    destination = root.get("Destination")
    if destination is not None and destination not in sso_urls:
        raise SamlRequestError("The AuthnRequest's Destination is not this IdP's SSO endpoint.")
    if root.get("AssertionConsumerServiceIndex") is not None:
        raise SamlRequestError("Send AssertionConsumerServiceURL; indexes are not supported.")
    binding = root.get("ProtocolBinding")
    if binding is not None and binding != "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST":
        raise SamlRequestError("Responses are sent over HTTP-POST only.")
    acs_url = registry.acs_url(sp, root.get("AssertionConsumerServiceURL"))
    policy = root.find(samlp_tag("NameIDPolicy"))
    wanted = policy.get("Format") if policy is not None else None
    if wanted not in (None, NAMEID_UNSPECIFIED, sp.nameid_format_uri):
        raise SamlRequestError("The requested NameID format is not the one registered for this SP.")
    return PendingSso(
        sp_entity_id=sp.entity_id,
        acs_url=acs_url,
        request_id=request_id,
        relay_state=_relay_state(inbound.relay_state),
        force_authn=root.get("ForceAuthn") in ("true", "1"),
        is_passive=root.get("IsPassive") in ("true", "1"),
        requested_at=now,
    )


def _relay_state(value: str | None) -> str | None:
    if value is not None and len(value.encode()) > MAX_RELAY_STATE:
        raise SamlRequestError("RelayState must not exceed 80 bytes.")
    return value or None


def response_spec(
    pending: PendingSso,
    sp: ServiceProvider,
    user: User,
    auth_time: float,
    config: Any,
    session_index: str,
) -> AssertionSpec:
    """The assertion this SP gets for this user."""
    name_id = user.email if sp.nameid_format == "email" else user.id
    return AssertionSpec(
        issuer=config["SAML_ENTITY_ID"],
        audience=sp.entity_id,
        recipient=pending.acs_url,
        name_id=name_id,
        name_id_format=sp.nameid_format_uri,
        now=int(time.time()),
        lifetime=config["SAML_ASSERTION_LIFETIME"],
        authn_instant=int(auth_time),
        session_index=session_index,
        attributes=saml_attributes(user),
        in_response_to=pending.request_id,
        exchange_audience=sp.exchange_audience,
        exchange_recipient=sp.exchange_recipient,
    )


def saml_session(signed_in: login.SignedIn, now: int, lifetime: int) -> sessions.SamlSession:
    """This browser's SAML session record: one SessionIndex per IdP session and user, so an SP's
    LogoutRequest can name the session it ends; the IdP session row notes it (a single logout
    without the cookie ends that row too)."""
    user = signed_in.user
    row = sessions.live(session.get(SESSION_INDEX_KEY), user.id)
    if row is None:
        row = sessions.open_session(new_session_index(), user.id, now, lifetime)
        session[SESSION_INDEX_KEY] = row.session_index
    if signed_in.record.saml_session_index != row.session_index:
        signed_in.record.saml_session_index = row.session_index  # sessions.record commits
    return row


def new_session_index() -> str:
    """An opaque session index."""
    return "_s" + secrets.token_hex(16)


def sso_urls() -> tuple[str, ...]:
    """This IdP's SSO endpoint URLs (an AuthnRequest's Destination must be one)."""
    base = current_app.config["IDP_URL"]
    return (base + url_for("saml.sso_redirect"), base + url_for("saml.sso_post"))


def redirect_binding() -> Response:
    """GET /saml/sso/redirect: SAMLRequest is deflated and base64-encoded in the query."""
    inbound = bindings.receive_redirect(request.query_string, "SAMLRequest")
    want_signed = current_app.config["SAML_WANT_REQUESTS_SIGNED"]
    return proceed(parse_authn_request(inbound, sso_urls(), time.time(), want_signed))


def post_binding() -> Response:
    """POST /saml/sso/post: SAMLRequest is base64-encoded in the form."""
    inbound = bindings.receive_post(request.form, "SAMLRequest")
    want_signed = current_app.config["SAML_WANT_REQUESTS_SIGNED"]
    return proceed(parse_authn_request(inbound, sso_urls(), time.time(), want_signed))


def idp_initiated() -> Response:
    """GET /saml/idp-init?sp=<entity id>[&RelayState=...]: an unsolicited response."""
    sp = registry.get(request.args.get("sp"))
    pending = PendingSso(
        sp_entity_id=sp.entity_id,
        acs_url=sp.acs_urls[0],
        request_id=None,
        relay_state=_relay_state(request.args.get("RelayState")),
        force_authn=False,
        is_passive=False,
        requested_at=time.time(),
    )
    return proceed(pending)


def resume() -> Response:
    """GET /saml/sso/resume: continue the parked request after sign-in."""
    parked = session.pop(PENDING_KEY, None)
    if parked is None:
        raise SamlRequestError("There is no sign-in in progress. Start again from the application.")
    return proceed(PendingSso(**parked))


def proceed(pending: PendingSso) -> Response:
    """Answer at once with a live IdP session, else park the request and send to sign-in."""
    sp = registry.get(pending.sp_entity_id)
    signed_in = login.current_session()
    fresh = signed_in is not None and signed_in.auth_time >= pending.requested_at
    if signed_in is None or (pending.force_authn and not fresh):
        if pending.is_passive:
            return post_response(sp, pending, _no_passive(sp, pending))
        session[PENDING_KEY] = asdict(pending)
        return login.require_login(url_for("saml.sso_resume"), purpose=sp.name)
    config = current_app.config
    row = saml_session(signed_in, int(time.time()), config["SAML_SESSION_LIFETIME"])
    spec = response_spec(
        pending, sp, signed_in.user, signed_in.auth_time, config, row.session_index
    )
    xml = signed_response(
        spec,
        destination=pending.acs_url,
        credential=signing_credential(),
        sign_assertion=sp.sign_assertion,
        sign_response=sp.sign_response,
    )
    sessions.record(row, sp.entity_id, spec.name_id, spec.name_id_format, spec.now)
    return post_response(sp, pending, xml)


def _no_passive(sp: ServiceProvider, pending: PendingSso) -> bytes:
    response = build_response(
        issuer=current_app.config["SAML_ENTITY_ID"],
        destination=pending.acs_url,
        in_response_to=pending.request_id,
        now=int(time.time()),
        status="urn:oasis:names:tc:SAML:2.0:status:Responder",
        sub_status="urn:oasis:names:tc:SAML:2.0:status:NoPassive",
    )
    return etree.tostring(sign(response, signing_credential()), encoding="UTF-8")


def post_response(sp: ServiceProvider, pending: PendingSso, xml: bytes) -> Response:
    """The auto-submitting HTTP-POST form to the verified ACS URL (Bindings §3.5.4)."""
    return post_form(pending.acs_url, "SAMLResponse", xml, pending.relay_state, sp.name)


def post_form(action: str, field: str, xml: bytes, relay_state: str | None, name: str) -> Response:
    """A form that posts `xml` to `action`; a static script submits it, a button without JS."""
    html = render_template(
        "saml/post_form.html",
        action=action,
        field=field,
        value=bindings.encode_post(xml),
        relay_state=relay_state,
        sp_name=name,
    )
    response = make_response(html)
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self'; style-src 'self'; form-action {action}; "
        "frame-ancestors 'none'"
    )
    return response
