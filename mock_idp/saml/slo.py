"""Single logout (SAML Profiles §4.4; Core §3.7) at /saml/slo/redirect and /saml/slo/post.

An SP's LogoutRequest must name the NameID (and, if it sends one, the SessionIndex) that SP was
given in this IdP session; then the IdP propagates the logout to every other participant
(propagation.py), collects their LogoutResponses at the same endpoints, ends its session and
answers the initiating SP with a signed LogoutResponse: Success, with the second-level
PartialLogout when some SP did not confirm. A mismatch is answered with Requester/UnknownPrincipal
and the session stays. The speaker can also start it at the IdP (POST /saml/logout).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from flask import Response
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_wtf.csrf import CSRFError
from lxml import etree
from sqlalchemy import select

from mock_idp import login
from mock_idp.models import db
from mock_idp.saml import bindings
from mock_idp.saml import propagation
from mock_idp.saml import sessions
from mock_idp.saml import signatures
from mock_idp.saml import sp as registry
from mock_idp.saml.assertion import DS
from mock_idp.saml.assertion import NSMAP
from mock_idp.saml.assertion import build_response
from mock_idp.saml.assertion import drop_placeholder
from mock_idp.saml.assertion import instant
from mock_idp.saml.assertion import saml_tag
from mock_idp.saml.assertion import samlp_tag
from mock_idp.saml.assertion import sign
from mock_idp.saml.credential import signing_credential
from mock_idp.saml.errors import STATUS_PREFIX
from mock_idp.saml.errors import SamlRequestError
from mock_idp.saml.sso import MAX_RELAY_STATE
from mock_idp.saml.sso import SESSION_INDEX_KEY
from mock_idp.saml.sso import post_form

LOGOUT_KEY = "saml_logout"
STATUS_SUCCESS = STATUS_PREFIX + "Success"
STATUS_REQUESTER = STATUS_PREFIX + "Requester"
UNKNOWN_PRINCIPAL = STATUS_PREFIX + "UnknownPrincipal"
PARTIAL_LOGOUT = STATUS_PREFIX + "PartialLogout"


@dataclass(frozen=True)
class LogoutRequest:
    """A verified LogoutRequest from a registered SP that has a logout URL to answer at."""

    request_id: str
    sp: registry.ServiceProvider
    name_id: str
    name_id_format: str | None
    session_indexes: list[str]


@dataclass(frozen=True)
class LogoutAnswer:
    """A verified LogoutResponse to one of the IdP's outstanding LogoutRequests."""

    leg: propagation.SamlLogoutLeg
    status: str


def parse_instant(value: str) -> float:
    """Epoch seconds of an xs:dateTime in UTC (SAML Core §1.3.3), fractions allowed."""
    text = value.strip()
    if not text.endswith("Z"):
        raise SamlRequestError("SAML times must be in UTC with a Z.")
    main, _, fraction = text[:-1].partition(".")
    try:
        parsed = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        return parsed.timestamp() + (float("0." + fraction) if fraction else 0.0)
    except ValueError as exc:
        raise SamlRequestError("A SAML time is malformed.") from exc


def _message_root(inbound: bindings.Inbound, tag: str) -> etree._Element:
    root = bindings.parse_xml(inbound.xml)
    if root.tag != samlp_tag(tag):
        raise SamlRequestError(f"Expected a samlp:{tag}.")
    if root.get("Version") != "2.0" or not root.get("ID"):
        raise SamlRequestError(f"The {tag} must be SAML 2.0 and have an ID.")
    return root


def _issuer(root: etree._Element) -> str | None:
    issuer = root.find(saml_tag("Issuer"))
    return issuer.text.strip() if issuer is not None and issuer.text else None


def _check_destination(root: etree._Element, slo_urls: tuple[str, ...]) -> None:
    destination = root.get("Destination")
    if destination is not None and destination not in slo_urls:
        raise SamlRequestError("The message's Destination is not this IdP's logout endpoint.")


def parse_logout_request(
    inbound: bindings.Inbound, slo_urls: tuple[str, ...], now: float, want_signed: bool
) -> LogoutRequest:
    """Check a LogoutRequest (Core §3.7.1): registered SP with an SLO URL, signature, times."""
    root = _message_root(inbound, "LogoutRequest")
    sp = registry.get(_issuer(root))
    if not sp.slo_url:
        raise SamlRequestError("This service provider has no single logout URL registered.")
    root = signatures.trusted_root(
        root, inbound, sp.certificate, want_signed or sp.want_requests_signed
    )
    _check_destination(root, slo_urls)
    not_on_or_after = root.get("NotOnOrAfter")
    if not_on_or_after is not None and parse_instant(not_on_or_after) <= now:
        raise SamlRequestError("The LogoutRequest has expired (NotOnOrAfter).")
    name_id = root.find(saml_tag("NameID"))
    if name_id is None or not name_id.text:
        raise SamlRequestError("The LogoutRequest must carry a NameID (no BaseID or EncryptedID).")
    indexes = [e.text.strip() for e in root.findall(samlp_tag("SessionIndex")) if e.text]
    return LogoutRequest(
        root.get("ID", ""), sp, name_id.text.strip(), name_id.get("Format"), indexes
    )


def parse_logout_response(
    inbound: bindings.Inbound, slo_urls: tuple[str, ...], want_signed: bool
) -> LogoutAnswer:
    """Check an SP's LogoutResponse: it answers an outstanding request, from the SP it went to."""
    root = _message_root(inbound, "LogoutResponse")
    leg = propagation.outstanding(root.get("InResponseTo"))
    if leg is None:
        raise SamlRequestError(
            "This LogoutResponse answers no logout request in progress here"
            " (unknown, already answered, or its logout has finished)."
        )
    if _issuer(root) != leg.sp_entity_id:
        raise SamlRequestError("The LogoutResponse does not come from the SP the request went to.")
    sp = registry.get(leg.sp_entity_id)
    root = signatures.trusted_root(
        root, inbound, sp.certificate, want_signed or sp.want_requests_signed
    )
    _check_destination(root, slo_urls)
    code = root.find(f"{samlp_tag('Status')}/{samlp_tag('StatusCode')}")
    if code is None or not code.get("Value"):
        raise SamlRequestError("The LogoutResponse has no StatusCode.")
    return LogoutAnswer(leg, code.get("Value", ""))


def logout_request_element(
    leg: propagation.SamlLogoutLeg, session_index: str, issuer: str, destination: str, now: int
) -> etree._Element:
    """The IdP's LogoutRequest to one session participant (Core §3.7.1), placeholder for a
    signature after the Issuer."""
    timeout = current_app.config["SAML_LOGOUT_TIMEOUT"]
    root = etree.Element(
        samlp_tag("LogoutRequest"),
        nsmap=NSMAP,
        ID=leg.request_id,
        Version="2.0",
        IssueInstant=instant(now),
        Destination=destination,
        NotOnOrAfter=instant(now + timeout),
    )
    etree.SubElement(root, saml_tag("Issuer")).text = issuer
    etree.SubElement(root, f"{{{DS}}}Signature", nsmap={"ds": DS}, Id="placeholder")
    name_id = etree.SubElement(root, saml_tag("NameID"), Format=leg.name_id_format)
    name_id.text = leg.name_id
    etree.SubElement(root, samlp_tag("SessionIndex")).text = session_index
    return root


def send(
    sp: registry.ServiceProvider,
    binding: str,
    param: str,
    element: etree._Element,
    relay_state: str | None,
) -> Response:
    """Send a message to the SP's SLO URL: signed query over Redirect, signed XML over POST."""
    credential = signing_credential()
    url = sp.slo_url or ""
    if binding == "redirect":
        xml = etree.tostring(drop_placeholder(element), encoding="UTF-8")
        return redirect(signatures.redirect_url(url, param, xml, relay_state, credential))
    xml = etree.tostring(sign(element, credential), encoding="UTF-8")
    return post_form(url, param, xml, relay_state, sp.name)


def answer(
    sp: registry.ServiceProvider,
    in_response_to: str | None,
    binding: str,
    relay_state: str | None,
    status: str,
    sub_status: str | None = None,
) -> Response:
    """A signed LogoutResponse to the SP that asked, over the binding it used."""
    response = build_response(
        issuer=current_app.config["SAML_ENTITY_ID"],
        destination=sp.slo_url or "",
        in_response_to=in_response_to,
        now=int(time.time()),
        status=status,
        sub_status=sub_status,
        tag="LogoutResponse",
    )
    return send(sp, binding, "SAMLResponse", response, relay_state)


def slo_urls() -> tuple[str, ...]:
    """This IdP's SLO endpoint URLs (a message's Destination must be one)."""
    base = current_app.config["IDP_URL"]
    return (base + url_for("saml.slo_redirect"), base + url_for("saml.slo_post"))


def _want_signed() -> bool:
    return bool(current_app.config["SAML_WANT_REQUESTS_SIGNED"])


def _slo_capable() -> set[str]:
    query = select(registry.ServiceProvider.entity_id).where(
        registry.ServiceProvider.slo_url.is_not(None)
    )
    return set(db.session.scalars(query))


def step(logout: propagation.SamlLogout, now: int) -> Response | str:
    """Send the next participant its LogoutRequest, or finish: end the session and answer."""
    action = propagation.advance(logout, now)
    if isinstance(action, propagation.SendRequest):
        leg = action.leg
        sp = registry.get(leg.sp_entity_id)
        issuer = current_app.config["SAML_ENTITY_ID"]
        element = logout_request_element(leg, logout.session_index, issuer, sp.slo_url or "", now)
        return send(sp, sp.slo_binding, "SAMLRequest", element, None)
    login.end_session()  # this browser drives the logout; a cookie-less POST deletes the cookie
    if logout.initiator_entity_id is None:
        return signed_out_page(action)
    initiator = registry.get(logout.initiator_entity_id)
    return answer(
        initiator,
        logout.initiator_request_id,
        logout.initiator_binding or "redirect",
        logout.relay_state,
        STATUS_SUCCESS,
        PARTIAL_LOGOUT if action.partial else None,
    )


def signed_out_page(finished: propagation.Finished) -> str:
    """The IdP's own page after a logout the speaker started here."""
    names = {
        sp.entity_id: sp.name for sp in db.session.scalars(select(registry.ServiceProvider)).all()
    }
    results = [(names.get(leg.sp_entity_id, leg.sp_entity_id), leg) for leg in finished.legs]
    return render_template("saml/signed_out.html", results=results, partial=finished.partial)


def on_logout_request(inbound: bindings.Inbound) -> Response | str:
    """An SP starts single logout."""
    now = int(time.time())
    req = parse_logout_request(inbound, slo_urls(), now, _want_signed())
    relay_state = inbound.relay_state
    if relay_state is not None and len(relay_state.encode()) > MAX_RELAY_STATE:
        raise SamlRequestError("RelayState must not exceed 80 bytes.")
    participant = sessions.find_participant(
        req.sp.entity_id,
        req.name_id,
        req.name_id_format,
        req.session_indexes,
        session.get(SESSION_INDEX_KEY),
    )
    if participant is None:
        # Core §3.7.3.2: the principal is not one this session knows for that SP; nothing ends.
        return answer(
            req.sp,
            req.request_id,
            inbound.binding,
            relay_state,
            STATUS_REQUESTER,
            UNKNOWN_PRINCIPAL,
        )
    logout = propagation.start(
        participant.session_index,
        now,
        slo_capable=_slo_capable(),
        initiator=req.sp.entity_id,
        request_id=req.request_id,
        binding=inbound.binding,
        relay_state=relay_state or None,
    )
    session[LOGOUT_KEY] = logout.id
    return step(logout, now)


def on_logout_response(inbound: bindings.Inbound) -> Response | str:
    """A session participant answers the IdP's LogoutRequest."""
    now = int(time.time())
    reply = parse_logout_response(inbound, slo_urls(), _want_signed())
    timeout = current_app.config["SAML_LOGOUT_TIMEOUT"]
    logout = propagation.settle(reply.leg, reply.status, now, timeout)
    return step(logout, now)


def redirect_binding() -> Response | str:
    """GET /saml/slo/redirect: a LogoutRequest from an SP, or an SP's LogoutResponse."""
    if "SAMLResponse" in request.args and "SAMLRequest" not in request.args:
        return on_logout_response(bindings.receive_redirect(request.query_string, "SAMLResponse"))
    return on_logout_request(bindings.receive_redirect(request.query_string, "SAMLRequest"))


def post_binding() -> Response | str:
    """POST /saml/slo/post: the same over HTTP-POST."""
    if "SAMLResponse" in request.form and "SAMLRequest" not in request.form:
        return on_logout_response(bindings.receive_post(request.form, "SAMLResponse"))
    return on_logout_request(bindings.receive_post(request.form, "SAMLRequest"))


def resume() -> Response | str:
    """GET /saml/slo/resume: back at the IdP without an SP's answer; count it failed, go on."""
    logout = propagation.running(session.get(LOGOUT_KEY))
    if logout is None:
        raise SamlRequestError("There is no logout in progress.")
    now = int(time.time())
    propagation.give_up(logout, now)
    return step(logout, now)


def idp_initiated() -> Response | str:
    """POST /saml/logout: the speaker signs out at the IdP, and of every SAML SP with it."""
    try:
        current_app.extensions["csrf"].protect()
    except CSRFError as exc:
        raise SamlRequestError("The sign-out form expired. Please try again.") from exc
    now = int(time.time())
    signed_in = login.current_session()
    index = session.get(SESSION_INDEX_KEY)
    row = sessions.live(index, signed_in.user.id) if signed_in is not None else None
    if row is None:
        login.end_session()
        return render_template("saml/signed_out.html", results=[], partial=False)
    logout = propagation.start(row.session_index, now, slo_capable=_slo_capable())
    session[LOGOUT_KEY] = logout.id
    return step(logout, now)


def end_logged_out_session() -> None:
    """Before each request: a browser whose SAML session was logged out (or is older than
    SAML_SESSION_LIFETIME) is signed out, even if the logout reached the IdP without its cookie."""
    index = session.get(SESSION_INDEX_KEY)
    if not index:
        return
    lifetime = current_app.config["SAML_SESSION_LIFETIME"]
    signed_in = login.current_session()
    user_id = signed_in.user.id if signed_in is not None else None
    standing = sessions.standing(index, user_id, int(time.time()), lifetime)
    if standing == "foreign":
        session.pop(SESSION_INDEX_KEY)  # the next SAML sign-on opens the new user's own session
    elif standing == "over":
        login.end_session()
