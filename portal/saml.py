"""SAML 2.0 login and single logout views (SAML Profiles §4.1 Web Browser SSO, §4.4 Single
Logout); the protocol work is in saml_sp.py.

The outstanding AuthnRequest (its ID, an opaque RelayState key and where to go next) is kept in
this browser's session and spent by the first Response that names it (checklist 4b.8); assertion
IDs are remembered in the database until they expire, across workers (checklist 4b.9).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from . import inspector
from . import saml_sp
from .errors import IdpUnavailable
from .errors import LoginFailed
from .models import LoginSession
from .models import db
from .security import csrf

bp = Blueprint("saml", __name__, url_prefix="/saml")
AUTHN_KEY = "saml_authn"  # request id -> [relay key, next path]
LOGOUT_KEY = "saml_logout"  # ids of our LogoutRequests still unanswered
MAX_OUTSTANDING = 5  # a few tabs may start a login at once; older requests are dropped
EXTENSION = "portal.saml"
T = TypeVar("T")


class SeenAssertion(db.Model):
    """An assertion ID already consumed at the ACS, kept until the assertion expires."""

    __tablename__ = "saml_seen_assertion"

    assertion_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[int]


def init_app(app: Flask) -> None:
    """Settings and the (lazy) service provider; the SP key is made now on a SAML portal."""
    instance = Path(app.instance_path)
    base = app.config["PORTAL_URL"]
    settings = saml_sp.SpSettings(
        entity_id=app.config.get("SAML_SP_ENTITY_ID") or f"{base}/saml/metadata",
        acs_url=f"{base}/saml/acs",
        slo_url=f"{base}/saml/slo",
        idp_metadata_url=app.config.get("SAML_IDP_METADATA_URL")
        or f"{app.config['IDP_URL']}/saml/metadata",
        key_file=instance / saml_sp.KEY_FILE,
        cert_file=instance / saml_sp.CERT_FILE,
        sign_requests=bool(app.config.get("SAML_SIGN_REQUESTS", False)),
        clock_skew=int(app.config.get("SAML_CLOCK_SKEW", 60)),
    )
    timeout = app.config.get("HTTP_TIMEOUT", 10)

    def fetch(url: str) -> str:
        try:
            response = requests.get(url, timeout=timeout)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise OSError(f"IdP metadata at {url}: {exc}") from exc
        return response.text

    app.extensions[EXTENSION] = saml_sp.ServiceProvider(settings, fetch)
    if app.config.get("LOGIN_PROTOCOL") == "saml":
        saml_sp.load_or_create_credential(instance)
        app.logger.warning(
            "portal signs SAML messages with a DEV-ONLY key from %s: not for production",
            settings.key_file,
        )


def provider() -> saml_sp.ServiceProvider:
    """This app's service provider, its key files made on first use."""
    sp: saml_sp.ServiceProvider = current_app.extensions[EXTENSION]
    if not sp.settings.key_file.exists() or not sp.settings.cert_file.exists():
        saml_sp.load_or_create_credential(sp.settings.key_file.parent)
    return sp


@bp.get("/metadata")
def metadata() -> Response:
    """GET /saml/metadata: our EntityDescriptor (works with the IdP down)."""
    return Response(provider().metadata_xml(), mimetype="application/samlmetadata+xml")


def start_login(next_path: str) -> Response:
    """Redirect to the IdP's SSO service with a fresh AuthnRequest (HTTP-Redirect binding)."""
    relay_key = secrets.token_urlsafe(16)  # opaque: RelayState never carries a URL
    outgoing = _with_idp(lambda: provider().authn_request(relay_key))
    pending = dict(session.get(AUTHN_KEY, {}))
    pending[outgoing.request_id] = [relay_key, next_path]
    session[AUTHN_KEY] = dict(list(pending.items())[-MAX_OUTSTANDING:])
    return redirect(outgoing.location or url_for("home.index"))


@bp.post("/acs")
@csrf.exempt  # the IdP's auto-posted form cannot carry our CSRF token; InResponseTo binds it
def acs() -> Response:
    """POST /saml/acs: validate the Response, then log the speaker in."""
    from .auth import complete_login

    encoded = request.form.get("SAMLResponse")
    inspector.record_step(
        kind="saml_response",
        sender="browser",
        receiver="portal",
        method="POST",
        url=request.base_url,
        params={"SAMLResponse": encoded or "", "RelayState": request.form.get("RelayState", "")},
    )
    try:
        request_id = saml_sp.response_in_response_to(saml_sp.decode_post(encoded))
        pending = dict(session.get(AUTHN_KEY, {}))
        entry = pending.pop(request_id, None) if request_id else None
        session[AUTHN_KEY] = pending  # spent, even if what follows fails
        if entry is None:
            raise saml_sp.SamlError(
                "saml_unknown_request",
                "The Response answers no login started in this browser (unsolicited, replayed"
                " or already used).",
            )
        relay_key, next_path = entry
        if request.form.get("RelayState") != relay_key:
            raise saml_sp.SamlError("saml_relay_state", "RelayState is not the one we sent.")
        login = _with_idp(lambda: provider().parse_response(encoded, request_id))
        _remember(login)
    except saml_sp.SamlError as exc:
        current_app.logger.warning("SAML login refused: %s", exc)
        raise LoginFailed(exc.code, exc.description) from exc
    display_name = login.attribute("display_name") or " ".join(
        filter(None, (login.attribute("given_name"), login.attribute("family_name")))
    )
    return complete_login(
        sub=login.name_id,
        email=login.attribute("email") or "",
        name=display_name,
        protocol="saml",
        saml_assertion=login.subject_token,
        saml_name_id=login.name_id,
        saml_name_id_format=login.name_id_format,
        saml_session_index=login.session_index,
        saml_not_on_or_after=login.not_on_or_after,
        next_path=next_path,
    )


def _remember(login: saml_sp.SamlLogin) -> None:
    """Record the assertion ID; one seen before is a replay (checklist 4b.9)."""
    now = int(time.time())
    db.session.execute(delete(SeenAssertion).where(SeenAssertion.expires_at < now))
    db.session.add(SeenAssertion(assertion_id=login.assertion_id, expires_at=login.not_on_or_after))
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise saml_sp.SamlError(
            "saml_replayed", f"Assertion {login.assertion_id} was already used."
        ) from exc


@bp.route("/slo", methods=["GET", "POST"])
@csrf.exempt  # the IdP's messages are signed; they cannot carry our CSRF token
def slo() -> Response:
    """GET|POST /saml/slo: the IdP's LogoutRequest, or its LogoutResponse to ours."""
    binding = "post" if request.method == "POST" else "redirect"
    values = request.form if binding == "post" else request.args
    query = {name: values[name] for name in ("SigAlg", "Signature") if name in values}
    inspector.record_step(
        kind="saml_logout_request" if "SAMLRequest" in values else "saml_logout_response",
        sender="browser",
        receiver="portal",
        method=request.method,
        url=request.base_url,
        params=values.to_dict(),
    )
    try:
        if "SAMLRequest" in values:
            return _logout_requested(
                binding, values["SAMLRequest"], values.get("RelayState"), query
            )
        if "SAMLResponse" in values:
            return _logout_answered(binding, values["SAMLResponse"], query)
        raise saml_sp.SamlError("saml_missing_message", "No SAMLRequest or SAMLResponse.")
    except saml_sp.SamlError as exc:
        current_app.logger.warning("SAML logout message refused: %s", exc)
        raise LoginFailed(exc.code, exc.description) from exc


def _logout_requested(
    binding: str, message: str, relay_state: str | None, query: dict[str, str]
) -> Response:
    """End the logins the IdP names (Profiles §4.4.4.2) and answer over its binding."""
    from .auth import end_logins_for_saml

    sp = provider()
    logout = _with_idp(lambda: sp.parse_logout_request(binding, message, relay_state, query))
    ended = 0
    for index in logout.session_indexes or [None]:
        ended += end_logins_for_saml(logout.name_id, index)
    # A browser whose login row is gone is logged out on its next request (user_loader: None).
    outgoing = sp.logout_response(logout, success=ended > 0)
    if outgoing.location:
        return redirect(outgoing.location)
    return _post_form(outgoing)


def _logout_answered(binding: str, message: str, query: dict[str, str]) -> Response:
    """The IdP answers the logout this browser started: forget the request, go home."""
    outstanding = list(session.pop(LOGOUT_KEY, []))
    ok = _with_idp(lambda: provider().parse_logout_response(binding, message, query, outstanding))
    if not ok:
        current_app.logger.warning("The IdP reports a partial or failed single logout.")
    return redirect(url_for("home.index"), 303)


def start_logout(login: LoginSession) -> Response | None:
    """A LogoutRequest for this login to the IdP (SP-initiated SLO), or None if it cannot go."""
    if not login.saml_name_id:
        return None
    try:
        outgoing = provider().logout_request(
            login.saml_name_id, login.saml_name_id_format, login.saml_session_index
        )
    except (saml_sp.IdpMetadataUnavailable, saml_sp.SamlError) as exc:
        # The portal login ends anyway; the IdP session then ends on its own schedule.
        current_app.logger.warning("SAML single logout not started: %s", exc)
        return None
    session[LOGOUT_KEY] = [
        *session.get(LOGOUT_KEY, [])[-MAX_OUTSTANDING + 1 :],
        outgoing.request_id,
    ]
    inspector.record_step(
        kind="saml_logout_request",
        sender="browser",
        receiver="idp",
        method="GET",
        url=outgoing.location or "",
        status=303,
    )
    return redirect(outgoing.location or url_for("home.index"), 303)


def _with_idp(call: Callable[[], T]) -> T:
    """Run `call`; an unreachable IdP metadata document is IdpUnavailable, not a 500."""
    try:
        return call()
    except saml_sp.IdpMetadataUnavailable as exc:
        raise IdpUnavailable(
            "idp_unavailable", f"The identity provider's SAML metadata is unavailable: {exc}"
        ) from exc


def _post_form(outgoing: saml_sp.Outgoing) -> Response:
    """An HTTP-POST message to the IdP (Bindings §3.5.4): a form the speaker sends on."""
    html = render_template(
        "auth/post_form.html", action=outgoing.form_action, fields=outgoing.form_fields or {}
    )
    response = make_response(html)
    response.headers["Cache-Control"] = "no-cache, no-store"
    return response
