"""Login with the IdP (OpenID Connect code flow + PKCE + nonce, by Authlib's Flask client), logout.

Authlib checks state, sends the PKCE verifier and validates the ID token (signature from the
IdP's JWKS, iss, aud, exp, nonce); this module keeps who logged in and their tokens, server-side.
Logout ends the portal login, revokes the refresh token (RFC 7009) and then sends the browser to
the IdP's end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0), which sends it back home.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import requests
from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_client import OAuth
from authlib.integrations.flask_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_login import LoginManager
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user
from joserfc.errors import JoseError
from sqlalchemy import delete
from sqlalchemy import select

from .errors import IdpUnavailable
from .errors import LoginFailed
from .htmx import hx_redirect
from .htmx import is_htmx_request
from .models import LoginSession
from .models import User
from .models import db
from .salesforce import SalesforceError

login_manager = LoginManager()
bp = Blueprint("auth", __name__, url_prefix="/auth")


class LoginExpired(Exception):
    """The login can get no fresh IdP access token (no refresh token, or refused): log in again."""


def init_app(app: Flask) -> None:
    """Register the IdP client and the login manager for this app."""
    # One registry per app (Authlib caches each client with its discovery document), so two apps
    # in one process, as in tests, never share an IdP client.
    oauth = OAuth(app)
    oauth.register(
        "idp",
        server_metadata_url=f"{app.config['IDP_ISSUER']}/.well-known/openid-configuration",
        client_id=app.config["IDP_CLIENT_ID"],
        client_secret=app.config["IDP_CLIENT_SECRET"],
        client_kwargs={
            # offline_access: a refresh token, so the portal can get fresh access tokens.
            "scope": "openid profile email offline_access",
            "code_challenge_method": "S256",
            "default_timeout": app.config["HTTP_TIMEOUT"],
        },
    )
    login_manager.init_app(app)
    app.register_error_handler(LoginExpired, _login_expired)


def idp() -> Any:
    """This app's OIDC client for the IdP."""
    return current_app.extensions["authlib.integrations.flask_client"].idp


@login_manager.user_loader
def _load_login(login_id: str) -> LoginSession | None:
    return db.session.get(LoginSession, login_id)


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    return login_redirect(_current_page())


@bp.get("/login")
def login() -> Response:
    next_path = safe_next(request.args.get("next")) or url_for("home.index")
    if current_user.is_authenticated:
        return redirect(next_path)
    session["login_next"] = next_path
    with idp_errors():
        return idp().authorize_redirect(current_app.config["PORTAL_URL"] + url_for(".callback"))


@bp.get("/callback")
def callback() -> Response:
    with idp_errors():
        token = idp().authorize_access_token()
    if current_user.is_authenticated:
        end_login(current_user._get_current_object())
    login_user(start_login(token))
    return redirect(session.pop("login_next", None) or url_for("home.index"))


@bp.post("/logout")
def logout() -> Response:
    """End the portal login, revoke its refresh token, then end the IdP session too."""
    if not current_user.is_authenticated:
        return redirect(url_for("home.index"), 303)
    login = current_user._get_current_object()
    id_token, refresh_token = login.idp_id_token, login.idp_refresh_token
    salesforce_token = login.sf_access_token
    end_login(login)
    if refresh_token:
        revoke_refresh_token(refresh_token)
    if salesforce_token:
        revoke_salesforce_token(salesforce_token)
    return redirect(idp_logout_url(id_token) or url_for("home.index"), 303)


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


@contextmanager
def idp_errors() -> Iterator[None]:
    """Turn what the IdP round trip can raise into errors the speaker sees explained."""
    try:
        yield
    except requests.RequestException as exc:
        raise IdpUnavailable(
            "idp_unavailable", "The identity provider could not be reached."
        ) from exc
    except OAuthError as exc:  # error=... at the callback, mismatching state, token endpoint error
        raise LoginFailed(exc.error, exc.description or "The identity provider refused.") from exc
    except JoseError as exc:  # the ID token's signature or claims did not validate
        raise LoginFailed("invalid_id_token", exc.description or exc.error) from exc
    except ValueError as exc:  # Authlib: the token endpoint's answer is not a JSON object
        raise LoginFailed("invalid_response", str(exc)) from exc


def idp_metadata() -> dict[str, Any]:
    """The IdP's discovery document, or {} when it cannot be fetched (logout goes on without)."""
    try:
        return idp().load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        current_app.logger.warning("IdP discovery failed during logout: %s", exc)
        return {}


def revoke_refresh_token(refresh_token: str) -> None:
    """Revoke the refresh token at the IdP (RFC 7009), best effort: logout never fails on it."""
    endpoint = idp_metadata().get("revocation_endpoint")
    if not endpoint:
        return
    client = idp()
    timeout = client.client_kwargs["default_timeout"]
    with OAuth2Session(client.client_id, client.client_secret, default_timeout=timeout) as http:
        try:
            response = http.revoke_token(
                endpoint, token=refresh_token, token_type_hint="refresh_token"
            )
        except requests.RequestException as exc:
            current_app.logger.warning("Refresh token revocation failed: %s", exc)
            return
    if not response.ok:
        current_app.logger.warning(
            "Refresh token revocation refused: HTTP %s %s", response.status_code, response.text
        )


def revoke_salesforce_token(token: str) -> None:
    """Revoke the cached Salesforce session too, best effort: logout never fails on it."""
    try:
        current_app.extensions["portal.salesforce"].revoke(token)
    except SalesforceError as exc:
        current_app.logger.warning("Salesforce token revocation failed: %s", exc)


def idp_logout_url(id_token: str) -> str | None:
    """The IdP's end_session_endpoint for this login (RP-Initiated Logout 1.0 §2), or None."""
    endpoint = idp_metadata().get("end_session_endpoint")
    if not endpoint:
        return None
    state = secrets.token_urlsafe(32)
    session["logout_state"] = state
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": current_app.config["PORTAL_URL"] + url_for("home.index"),
        "state": state,
    }
    return add_params_to_uri(endpoint, params)


def logout_finished(state: str | None) -> bool:
    """Whether the IdP sent the browser back from the logout this browser started."""
    # A missing or foreign state is no error: the speaker just lands on the home page.
    if not state:
        return False
    expected = session.pop("logout_state", None)
    return expected is not None and secrets.compare_digest(state.encode(), expected.encode())


def start_login(token: Mapping[str, Any]) -> LoginSession:
    """Record the speaker and a new login session holding the IdP's tokens."""
    claims = token.get("userinfo")
    if not claims or "sub" not in claims:
        raise LoginFailed("invalid_id_token", "The identity provider sent no ID token.")
    user = db.session.scalar(select(User).filter_by(sub=claims["sub"])) or User(sub=claims["sub"])
    user.email = claims.get("email", "")
    user.name = claims.get("name") or user.email or user.sub
    login = LoginSession(user=user, idp_id_token=token["id_token"])
    login.keep_idp_tokens(token)
    db.session.add(login)
    db.session.commit()
    return login


def end_login(login: LoginSession) -> None:
    """Forget this login's tokens and sign the browser out."""
    # A statement, not session.delete(): another request may have deleted the row already.
    db.session.execute(delete(LoginSession).where(LoginSession.id == login.id))
    db.session.commit()
    logout_user()


def _login_expired(_exc: LoginExpired) -> Response:
    if current_user.is_authenticated:
        end_login(current_user._get_current_object())
    return login_redirect(_current_page())


def _current_page() -> str | None:
    """Where to come back to after logging in: the page, not the htmx endpoint it called."""
    if is_htmx_request():
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        return safe_next(urlunsplit(("", "", page.path, page.query, "")))
    if request.method != "GET":
        return None
    return safe_next(request.full_path.rstrip("?"))
