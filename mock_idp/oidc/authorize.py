"""Authorization endpoint, code flow with PKCE (RFC 6749 §4.1, RFC 7636, OIDC Core §3.1.2,
RFC 9207 `iss` in every authorization response)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from sqlalchemy import delete

from mock_idp import login
from mock_idp.config import ISSUER_PATH
from mock_idp.models import AuthorizationCode
from mock_idp.models import Client
from mock_idp.models import User
from mock_idp.models import db
from mock_idp.models import sha256_hex
from mock_idp.oidc import errors
from mock_idp.oidc import pkce
from mock_idp.oidc import scopes
from mock_idp.oidc.errors import InvalidRequestError
from mock_idp.oidc.errors import LoginRequiredError
from mock_idp.oidc.errors import OAuthError
from mock_idp.oidc.errors import UnauthorizedClientError
from mock_idp.oidc.errors import UnsupportedResponseTypeError
from mock_idp.oidc.params import single_valued

PENDING_KEY = "pending_authorization"
# consent and select_account are accepted and have no effect: there is no consent screen.
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "prompt",
    "max_age",
)
# The parked request rides in the session cookie, so free-text values are bounded.
MAX_VALUE_LENGTH = 512


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request."""

    client: Client
    redirect_uri: str
    scopes: list[str]
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: frozenset[str]
    max_age: int | None


class AuthorizationErrorResponse(Exception):
    """An error for a verified redirect_uri: the client learns it there (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: OAuthError, redirect_uri: str, state: str | None) -> None:
        super().__init__(error.error)
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state


def verify_client(params: Mapping[str, str]) -> tuple[Client, str]:
    """The client and its exact registered redirect_uri; errors here must never redirect."""
    client_id = params.get("client_id")
    client = db.session.get(Client, client_id) if client_id else None
    if client is None:
        raise InvalidRequestError("Unknown client_id.")
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None or redirect_uri not in client.redirect_uris:
        raise InvalidRequestError("redirect_uri is not registered for this client.")
    return client, redirect_uri


def parse_authorization_request(params: Mapping[str, str]) -> AuthorizationRequest:
    """Validate an authorize request; after the redirect_uri is verified, errors redirect."""
    client, redirect_uri = verify_client(params)
    state = params.get("state")
    try:
        return AuthorizationRequest(
            client=client,
            redirect_uri=redirect_uri,
            **_check_parameters(params, client),
        )
    except OAuthError as err:
        raise AuthorizationErrorResponse(err, redirect_uri, state) from err


def _check_parameters(params: Mapping[str, str], client: Client) -> dict[str, Any]:
    too_long = [
        name
        for name in ("scope", "state", "nonce", "prompt")
        if len(params.get(name, "")) > MAX_VALUE_LENGTH
    ]
    if too_long:
        raise InvalidRequestError(f"Parameter too long: {', '.join(too_long)}.")
    response_type = params.get("response_type")
    if response_type is None:
        raise InvalidRequestError("response_type is required.")
    if response_type != "code":
        raise UnsupportedResponseTypeError("Only response_type=code is supported.")
    if params.get("response_mode", "query") != "query":
        raise InvalidRequestError("Only response_mode=query is supported.")
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClientError("This client may not use the authorization code grant.")
    granted = scopes.grant_scopes(params.get("scope"), client.scopes)
    challenge = pkce.check_challenge(
        params.get("code_challenge"), params.get("code_challenge_method")
    )
    prompt = frozenset(params.get("prompt", "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise InvalidRequestError("Invalid prompt value.")
    max_age = params.get("max_age")
    if max_age is not None and not re.fullmatch(r"[0-9]{1,9}", max_age):
        raise InvalidRequestError("max_age must be a non-negative integer.")
    return {
        "scopes": granted,
        "state": params.get("state"),
        "nonce": params.get("nonce"),
        "code_challenge": challenge,
        "prompt": prompt,
        "max_age": int(max_age) if max_age is not None else None,
    }


def login_needed(
    req: AuthorizationRequest, auth_time: float | None, now: float, requested_at: float
) -> bool:
    """Whether the user must (re)authenticate before a code is issued (OIDC Core §3.1.2.1)."""
    if auth_time is None:
        return True
    if auth_time >= requested_at:
        return False  # signed in for this very request: prompt=login and max_age are satisfied
    if "login" in req.prompt:
        return True
    return req.max_age is not None and now - auth_time > req.max_age


def issue_code(
    req: AuthorizationRequest,
    user: User,
    auth_time: int,
    now: int,
    lifetime: int,
    sid: str | None = None,
) -> str:
    """Store a single-use code (hashed) bound to everything the token request must repeat."""
    db.session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < now))
    code = secrets.token_urlsafe(32)
    db.session.add(
        AuthorizationCode(
            code_hash=sha256_hex(code),
            client_id=req.client.client_id,
            user_id=user.id,
            redirect_uri=req.redirect_uri,
            scope=" ".join(req.scopes),
            nonce=req.nonce,
            code_challenge=req.code_challenge,
            auth_time=auth_time,
            expires_at=now + lifetime,
            consumed_at=None,
            sid=sid,
        )
    )
    db.session.commit()
    return code


def response_location(
    redirect_uri: str, params: Mapping[str, str], state: str | None, issuer: str
) -> str:
    """The redirect_uri with the response parameters, `state` and `iss` added to its query."""
    response = {**params, **({"state": state} if state is not None else {}), "iss": issuer}
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(response.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


bp = Blueprint("authorize", __name__, url_prefix=ISSUER_PATH)


@bp.get("/v1/authorize")
def authorize() -> Response:
    """Start (or, with a live IdP session, finish at once) an authorization request."""
    params = single_valued(request.args)
    known = {name: value for name, value in params.items() if name in PARAMETERS}
    return _proceed(known, requested_at=time.time())


@bp.get("/v1/authorize/resume")
def resume() -> Response:
    """Continue the request that was parked in the signed session while the user signed in."""
    pending = session.pop(PENDING_KEY, None)
    if pending is None:
        raise InvalidRequestError("There is no sign-in in progress. Start again from the app.")
    return _proceed(pending["params"], requested_at=pending["requested_at"])


def _proceed(params: dict[str, str], requested_at: float) -> Response:
    req = parse_authorization_request(params)
    signed_in = login.current_session()
    if signed_in is None or login_needed(req, signed_in.auth_time, time.time(), requested_at):
        if "none" in req.prompt:
            raise AuthorizationErrorResponse(
                LoginRequiredError("The user must sign in."), req.redirect_uri, req.state
            )
        session[PENDING_KEY] = {"params": params, "requested_at": requested_at}
        return login.require_login(url_for(".resume"), purpose=req.client.name)
    code = issue_code(
        req,
        signed_in.user,
        auth_time=int(signed_in.auth_time),
        now=int(time.time()),
        lifetime=current_app.config["AUTHORIZATION_CODE_LIFETIME"],
        sid=signed_in.record.sid,
    )
    issuer = current_app.config["ISSUER"]
    return redirect(response_location(req.redirect_uri, {"code": code}, req.state, issuer))


@bp.errorhandler(AuthorizationErrorResponse)
def _redirect_error(err: AuthorizationErrorResponse) -> Response:
    params = {"error": err.error.error}
    if err.error.description:
        params["error_description"] = err.error.description
    issuer = current_app.config["ISSUER"]
    return redirect(response_location(err.redirect_uri, params, err.state, issuer))


bp.register_error_handler(OAuthError, errors.render_html)
