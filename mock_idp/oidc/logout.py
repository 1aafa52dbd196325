"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at {issuer}/v1/logout.

Like Okta, `id_token_hint` is required: it names the client, and so the post-logout redirect URIs
that may be used. An unregistered `post_logout_redirect_uri` gets an error page, never a redirect.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import jwt
from flask import Response
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request

from mock_idp import idp_sessions
from mock_idp import login
from mock_idp.keys import ALGORITHM
from mock_idp.keys import KeyStore
from mock_idp.keys import key_store
from mock_idp.models import Client
from mock_idp.models import db
from mock_idp.oidc.errors import InvalidRequestError
from mock_idp.oidc.errors import OAuthError
from mock_idp.oidc.params import single_valued
from mock_idp.oidc.tokens import ID_TOKEN_TYP


class LogoutRejected(Exception):
    """A logout request refused with an error page (the redirect target is not trusted)."""

    def __init__(self, error: OAuthError) -> None:
        super().__init__(error.error)
        self.error = error


@dataclass(frozen=True)
class LogoutRequest:
    """A verified logout request: whose session, and where to send the browser afterwards."""

    client: Client
    subject: str
    redirect_uri: str | None
    state: str | None
    sid: str | None = None  # the IdP session the hint's ID token was issued in


def verify_id_token_hint(keys: KeyStore, hint: str, issuer: str) -> dict[str, Any]:
    """Claims of an ID token this issuer signed; expiry is ignored (§2: it may have expired)."""
    try:
        if jwt.get_unverified_header(hint).get("typ") != ID_TOKEN_TYP:
            raise jwt.InvalidTokenError("unexpected typ")
        return jwt.decode(
            hint,
            keys.public_key_for(hint),
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={
                "require": ["iss", "sub", "aud"],
                "verify_exp": False,
                "verify_aud": False,  # checked below against the client it names
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidRequestError("id_token_hint is not a valid ID token of this issuer.") from exc


def parse_logout_request(keys: KeyStore, params: Mapping[str, str], issuer: str) -> LogoutRequest:
    """Validate a logout request; any error is shown to the user, never redirected."""
    hint = params.get("id_token_hint")
    if not hint:
        raise InvalidRequestError("id_token_hint is required.")
    claims = verify_id_token_hint(keys, hint, issuer)
    audience = claims["aud"]
    if isinstance(audience, list):
        audience = audience[0] if len(audience) == 1 else None
    client = db.session.get(Client, audience) if isinstance(audience, str) else None
    if client is None:
        raise InvalidRequestError("id_token_hint names no registered client.")
    if params.get("client_id", client.client_id) != client.client_id:
        raise InvalidRequestError("client_id does not match the id_token_hint.")
    redirect_uri = params.get("post_logout_redirect_uri")
    if redirect_uri is not None and redirect_uri not in client.post_logout_redirect_uris:
        raise InvalidRequestError("post_logout_redirect_uri is not registered for this client.")
    sid = claims.get("sid")
    return LogoutRequest(
        client,
        str(claims["sub"]),
        redirect_uri,
        params.get("state"),
        sid if isinstance(sid, str) else None,
    )


def with_state(redirect_uri: str, state: str | None) -> str:
    """The post-logout redirect URI with `state` added to its query when given."""
    if state is None:
        return redirect_uri
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("state", state)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def logout_endpoint() -> Response | str:
    """GET|POST {issuer}/v1/logout: end the IdP session, then go back to the client if asked."""
    try:
        params = single_valued(request.form if request.method == "POST" else request.args)
        req = parse_logout_request(key_store(), params, current_app.config["ISSUER"])
    except OAuthError as err:
        raise LogoutRejected(err) from err
    signed_in = login.current_session()
    # Only the hinted user's session ends: a stale hint must not sign out someone else.
    if signed_in is None or signed_in.user.id == req.subject:
        login.end_session()
    if req.sid is not None:
        # A logout posted from the client's site arrives without the IdP's SameSite=Lax cookie:
        # the hint's sid names the session to end all the same.
        idp_sessions.end_by_sid(req.sid, req.subject, int(time.time()))
        db.session.commit()
    if req.redirect_uri is not None:
        return redirect(with_state(req.redirect_uri, req.state), 303)
    return render_template("logout/signed_out.html", client=req.client)


def render_rejected(err: LogoutRejected) -> tuple[str, int]:
    """The browser page for a refused logout request."""
    return render_template("logout/error.html", error=err.error), 400
