"""The IdP client: OpenID Connect login (code flow + PKCE + nonce), refresh, revocation, logout.

Authlib's Flask client does the protocol work: state, PKCE S256, the code exchange, and the ID
token's validation (signature from the IdP's JWKS, iss, aud, exp, nonce). This module adds what
a portable relying party needs on top: scopes and extra authorization parameters from settings
(OIDC Core §3.1.2.1), a refresh that asks for no scope beyond the grant (RFC 6749 §6), one JWKS
refetch when the ID token's signature does not verify (OIDC Core §10.1.1: keys rotate), and
the RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0 §2).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from authlib.integrations.flask_client import FlaskOAuth2App
from authlib.integrations.flask_client import OAuth
from authlib.integrations.flask_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import OAuth2Error
from flask import Flask
from flask import current_app
from joserfc.errors import BadSignatureError
from joserfc.errors import JoseError

from . import lease
from .errors import IdpUnavailable
from .errors import LoginExpired
from .errors import LoginFailed
from .models import LoginSession
from .models import db

ResponseHook = Callable[..., Any]


class IdpApp(FlaskOAuth2App):
    """Authlib's Flask OIDC client, refetching the JWKS once when a signature does not verify."""

    # Authlib already refetches on an unknown `kid`; a key replaced under the same kid shows up
    # as a bad signature instead. One refetch per cooldown, so junk cannot make us hammer the IdP.
    refetch_cooldown = 30.0
    _last_refetch = 0.0
    _lock = threading.Lock()

    def _get_session(self) -> Any:
        session = super()._get_session()
        if self.compliance_fix:
            self.compliance_fix(session)  # discovery and JWKS too: Authlib skips it for them
        return session

    def parse_id_token(self, token: Any, nonce: Any, **kwargs: Any) -> Any:
        try:
            return super().parse_id_token(token, nonce, **kwargs)
        except BadSignatureError:
            with self._lock:
                if time.monotonic() - self._last_refetch < self.refetch_cooldown:
                    raise
                self._last_refetch = time.monotonic()
            self.fetch_jwk_set(force=True)
            return super().parse_id_token(token, nonce, **kwargs)


class PortalOAuth(OAuth):
    oauth2_client_cls = IdpApp


def init_app(app: Flask, response_hooks: list[ResponseHook] | None = None) -> None:
    """Register this app's client for the IdP; `response_hooks` see every HTTP call it makes."""
    hooks = list(response_hooks or [])

    def observe(session: requests.Session) -> None:
        session.hooks["response"].extend(hooks)

    # One registry per app (Authlib caches each client with its discovery document), so two apps
    # in one process, as in tests, never share an IdP client.
    registry = PortalOAuth(app)
    registry.register(
        "idp",
        server_metadata_url=f"{app.config['IDP_ISSUER']}/.well-known/openid-configuration",
        client_id=app.config["IDP_CLIENT_ID"],
        client_secret=app.config["IDP_CLIENT_SECRET"],
        # No "scope" here: Authlib would re-send it on refresh, and a strict IdP refuses a scope
        # the grant lacks. The scope goes with the authorization request only (authorize()).
        client_kwargs={
            "code_challenge_method": "S256",
            "default_timeout": app.config["HTTP_TIMEOUT"],
        },
        compliance_fix=observe,
    )
    app.extensions["portal.idp"] = registry


def client() -> IdpApp:
    """This app's OIDC client for the IdP."""
    return current_app.extensions["portal.idp"].idp


@contextmanager
def errors() -> Iterator[None]:
    """Turn what an IdP round trip can raise into errors the speaker sees explained."""
    try:
        yield
    except requests.RequestException as exc:
        raise IdpUnavailable(
            "idp_unavailable", "The identity provider could not be reached."
        ) from exc
    # error=... at the callback, mismatching state, token endpoint error; a callback with its
    # state but neither code nor error (OAuth2Error: Authlib's missing_code)
    except (OAuthError, OAuth2Error) as exc:
        raise LoginFailed(exc.error, exc.description or "The identity provider refused.") from exc
    except JoseError as exc:  # the ID token's signature or claims did not validate
        raise LoginFailed("invalid_id_token", exc.description or exc.error) from exc
    except ValueError as exc:  # Authlib: the token endpoint's answer is not a JSON object
        raise LoginFailed("invalid_response", str(exc)) from exc


def authorize(redirect_uri: str) -> Any:
    """The redirect to the IdP's authorization endpoint, with the configured scope and extras."""
    config = current_app.config
    with errors():
        return client().authorize_redirect(
            redirect_uri, scope=config["IDP_SCOPES"], **config["IDP_AUTHORIZE_PARAMS"]
        )


def callback_tokens() -> dict[str, Any]:
    """Exchange the code at the callback; the ID token's claims arrive under "userinfo"."""
    with errors():
        return client().authorize_access_token()


def metadata() -> dict[str, Any]:
    """The IdP's discovery document, or {} when it cannot be fetched (logout goes on without)."""
    try:
        return client().load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        current_app.logger.warning("IdP discovery failed: %s", exc)
        return {}


def refresh(login: LoginSession) -> None:
    """Spend the refresh token for fresh IdP tokens; store the rotated refresh token at once.

    Call it inside `lease.one_at_a_time`. No refresh token, or any refusal by the IdP (expired,
    revoked, already used, a scope it will not grant), ends in LoginExpired: log in again.
    """
    if not login.idp_refresh_token:
        raise LoginExpired()
    with errors():
        try:
            # scope=None: ask for exactly what was granted (RFC 6749 §6 lets it be omitted).
            token = client().fetch_access_token(
                grant_type="refresh_token", refresh_token=login.idp_refresh_token, scope=None
            )
        except OAuthError as exc:
            current_app.logger.info("IdP refused the refresh: %s", exc.error)
            raise LoginExpired() from exc
    login.keep_idp_tokens(token)
    # At once: the old refresh token is spent, so the new one must not be lost to a later error.
    db.session.commit()


def access_token(login: LoginSession) -> str:
    """An unexpired IdP access token for this login, refreshed first if need be."""
    if login.idp_access_token and not login.idp_token_expired():
        return login.idp_access_token
    with lease.one_at_a_time(login):
        if not login.idp_access_token or login.idp_token_expired():
            refresh(login)
        return login.idp_access_token


def revoke(refresh_token: str) -> None:
    """Revoke the refresh token at the IdP (RFC 7009), best effort: logout never fails on it."""
    endpoint = metadata().get("revocation_endpoint")
    if not endpoint:
        return
    app = client()
    timeout = app.client_kwargs["default_timeout"]
    with OAuth2Session(app.client_id, app.client_secret, default_timeout=timeout) as http:
        if app.compliance_fix:
            app.compliance_fix(http)
        try:
            response = http.revoke_token(
                endpoint, token=refresh_token, token_type_hint="refresh_token"
            )
        except requests.RequestException as exc:
            current_app.logger.warning("Refresh token revocation failed: %s", exc)
            return
    if not response.ok:
        current_app.logger.warning(
            "Refresh token revocation refused: HTTP %s", response.status_code
        )


def logout_request(
    id_token: str | None, post_logout_redirect_uri: str, state: str
) -> tuple[str, dict[str, str]] | None:
    """The IdP's end_session_endpoint and the form fields to POST to it (RP-Initiated Logout 1.0
    §2: the OP supports POST), or None. A POST keeps the ID token out of every URL."""
    endpoint = metadata().get("end_session_endpoint")
    if not endpoint:
        return None
    fields = {"post_logout_redirect_uri": post_logout_redirect_uri, "state": state}
    if id_token:
        fields["id_token_hint"] = id_token
    return endpoint, fields
