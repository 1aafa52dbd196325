"""Login (OpenID Connect by default, SAML 2.0 with `LOGIN_PROTOCOL=saml`) and logout views.

The protocol work is in idp.py (OIDC) and saml.py (SAML); this module keeps who logged in and
their tokens, server-side, and ends logins. Logout ends the portal login, revokes the tokens it
held (RFC 7009), then ends the IdP session too: RP-Initiated Logout 1.0 for OIDC, single logout
for SAML.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import LoginManager
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user
from sqlalchemy import delete
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from . import drafts
from . import idp
from . import inspector
from . import saml
from . import sf_session
from .errors import EmailNotVerified
from .errors import LoginExpired
from .errors import LoginFailed
from .htmx import hx_redirect
from .htmx import is_htmx_request
from .models import LoginSession
from .models import User
from .models import db
from .salesforce import SalesforceError
from .token_vault import UnreadableToken

login_manager = LoginManager()
CSRF_SECRET = "csrf_token"  # where Flask-WTF keeps the session's CSRF secret (WTF_CSRF_FIELD_NAME)

bp = Blueprint("auth", __name__, url_prefix="/auth")
NEXT_KEY = "login_next"


def init_app(app: Flask) -> None:
    """The login manager, and what a login that can no longer be renewed leads to."""
    login_manager.init_app(app)
    app.register_error_handler(LoginExpired, _login_expired)


@login_manager.user_loader
def _load_login(login_id: str) -> LoginSession | None:
    try:
        return db.session.get(LoginSession, login_id)
    except UnreadableToken:  # no key decrypts its tokens (token_vault.py): this login is over
        current_app.logger.warning("A login's tokens do not decrypt (key changed?): login ended")
        db.session.execute(delete(LoginSession).where(LoginSession.id == login_id))
        db.session.commit()
        return None  # anonymous: login_required keeps her form as a draft and sends her to log in


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    drafts.keep_posted_form()  # her login ended before she sent it: keep what she typed
    return login_redirect(_current_page())


@bp.get("/login")
def login() -> Response:
    next_path = safe_next(request.args.get("next")) or url_for("home.index")
    if current_user.is_authenticated:
        return redirect(next_path)
    inspector.start_new_flow()  # the inspector shows this login from its first step
    if current_app.config["LOGIN_PROTOCOL"] == "saml":
        response = saml.start_login(next_path)
        kind = "saml_authn_request"
    else:
        session[NEXT_KEY] = next_path
        response = idp.authorize(current_app.config["PORTAL_URL"] + url_for(".callback"))
        kind = "authorize"
    inspector.record_step(
        kind=kind,
        sender="browser",
        receiver="idp",
        method="GET",
        url=response.location or "",
        status=response.status_code,
    )
    return response


@bp.get("/callback")
def callback() -> Response:
    inspector.record_step(
        kind="callback", sender="browser", receiver="portal", method="GET", url=request.url
    )
    token = idp.callback_tokens()
    claims = token.get("userinfo")
    if not claims or "sub" not in claims:
        raise LoginFailed("invalid_id_token", "The identity provider sent no ID token.")
    # An unconfirmed address may be anyone's: no portal login, and so no Salesforce user made
    # from it at the first exchange. An IdP that sends no email_verified is taken at its word.
    if claims.get("email_verified") is False:
        raise EmailNotVerified("email_not_verified", f"{claims.get('email')} is not confirmed.")
    return complete_login(
        sub=claims["sub"],
        email=claims.get("email", ""),
        name=claims.get("name") or "",
        protocol="oidc",
        oidc_tokens=token,
        next_path=session.pop(NEXT_KEY, None),
    )


def complete_login(
    *,
    sub: str,
    email: str,
    name: str,
    protocol: str,
    next_path: str | None,
    oidc_tokens: dict[str, Any] | None = None,
    **saml_fields: Any,
) -> Response:
    """Record the speaker and a new login session holding her tokens; go where she was going."""
    if current_user.is_authenticated:
        end_login(current_user._get_current_object())
    user = db.session.scalar(select(User).filter_by(sub=sub)) or User(sub=sub)
    user.email = email or user.email or ""
    user.name = name or user.email or sub
    login = LoginSession(user=user, protocol=protocol, **saml_fields)
    if oidc_tokens is not None:
        login.keep_idp_tokens(oidc_tokens)
    db.session.add(login)
    db.session.commit()
    login_user(login)
    session.pop(CSRF_SECRET, None)  # a CSRF token planted or seen before the login is void now
    return redirect(safe_next(next_path) or url_for("home.index"))


@bp.post("/logout")
def logout() -> Response:
    """End the portal login, revoke its tokens, then end the IdP session too."""
    if not current_user.is_authenticated:
        return redirect(url_for("home.index"), 303)
    login = current_user._get_current_object()
    protocol, id_token, refresh_token = login.protocol, login.idp_id_token, login.idp_refresh_token
    salesforce_token = login.sf_refresh_token or login.sf_access_token
    saml_logout = None
    if protocol == "saml":
        saml_logout = saml.start_logout(login)
    end_login(login)
    if salesforce_token:
        revoke_salesforce_token(salesforce_token)
    if saml_logout is not None:
        return saml_logout
    if refresh_token:
        idp.revoke(refresh_token)
    state = secrets.token_urlsafe(32)
    session["logout_state"] = state
    home = current_app.config["PORTAL_URL"] + url_for("home.index")
    logout_request = idp.logout_request(id_token, home, state)
    if logout_request is None:
        return redirect(url_for("home.index"), 303)
    action, fields = logout_request
    page = render_template("auth/post_form.html", action=action, fields=fields)
    return Response(page, headers={"Cache-Control": "no-store"})  # the page holds the ID token


def revoke_salesforce_token(token: str) -> None:
    """Revoke the Salesforce session (a refresh token takes its access tokens along)."""
    try:
        sf_session.salesforce_client().revoke(token)
    except SalesforceError as exc:
        current_app.logger.warning("Salesforce token revocation failed: %s", exc)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: `next` must never redirect elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read "/\evil" as "//evil" and drop tabs and newlines before parsing.
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def login_redirect(next_path: str | None) -> Response:
    """Send the browser to log in, coming back to `next_path` afterwards."""
    url = url_for("auth.login", next=next_path)
    return hx_redirect(url) if is_htmx_request() else redirect(url)


def logout_finished(state: str | None) -> bool:
    """Whether the IdP sent the browser back from the logout this browser started."""
    # A missing or foreign state is no error: the speaker just lands on the home page.
    if not state:
        return False
    expected = session.pop("logout_state", None)
    return expected is not None and secrets.compare_digest(state.encode(), expected.encode())


def end_login(login: LoginSession) -> None:
    """Forget this login's tokens and sign the browser out."""
    # A statement, not session.delete(): another request may have deleted the row already.
    # The id from the identity map, not login.id: reading an attribute of an expired row reloads
    # it, and a row whose tokens stopped decrypting mid-request would fail again here.
    [login_id] = sa_inspect(login).identity
    db.session.execute(delete(LoginSession).where(LoginSession.id == login_id))
    db.session.commit()
    logout_user()
    session.pop(CSRF_SECRET, None)  # and a token of this login is void after it


def end_logins_for_saml(name_id: str, session_index: str | None) -> int:
    """End the logins a SAML LogoutRequest names (SAML Profiles §4.4.4.2); how many ended."""
    query = delete(LoginSession).where(
        LoginSession.protocol == "saml", LoginSession.saml_name_id == name_id
    )
    if session_index:
        query = query.where(LoginSession.saml_session_index == session_index)
    ended = db.session.execute(query).rowcount
    db.session.commit()
    return int(ended or 0)


def _login_expired(_exc: LoginExpired) -> Response:
    drafts.keep_posted_form()
    if current_user.is_authenticated:
        end_login(current_user._get_current_object())
    return login_redirect(_current_page())


def _current_page() -> str | None:
    """Where to come back to after logging in: the page, not the endpoint a form posted to."""
    if is_htmx_request():  # the page htmx was on; else (none, or unreadable) the URL it asked for
        current = _same_site_path(request.headers.get("HX-Current-URL", ""))
        return current or (safe_next(request.path) if request.method == "GET" else None)
    if request.method != "GET":
        return _same_site_path(request.referrer or "")
    return safe_next(request.full_path.rstrip("?"))


def _same_site_path(url: str) -> str | None:
    """The path and query of a URL on this portal, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    portal = urlsplit(current_app.config["PORTAL_URL"])
    if parts.netloc and parts.netloc != portal.netloc:
        return None
    return safe_next(urlunsplit(("", "", parts.path, parts.query, "")))
