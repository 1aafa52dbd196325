"""Token endpoint and its grants (RFC 6749 §3.2, §4.1.3-4.1.4, §5; OIDC Core §3.1.3)."""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from sqlalchemy import select
from sqlalchemy import update

from mock_idp import users
from mock_idp.keys import key_store
from mock_idp.models import AuthorizationCode
from mock_idp.models import Client
from mock_idp.models import db
from mock_idp.models import sha256_hex
from mock_idp.oidc import pkce
from mock_idp.oidc import tokens
from mock_idp.oidc.client_auth import authenticate_client
from mock_idp.oidc.errors import InvalidGrantError
from mock_idp.oidc.errors import InvalidRequestError
from mock_idp.oidc.errors import UnauthorizedClientError
from mock_idp.oidc.errors import UnsupportedGrantTypeError
from mock_idp.oidc.params import single_valued

GrantHandler = Callable[[Client, Mapping[str, str], Mapping[str, Any]], dict[str, Any]]


def authorization_code_grant(
    client: Client, params: Mapping[str, str], config: Mapping[str, Any]
) -> dict[str, Any]:
    """Redeem a code once: same client, same redirect_uri, matching PKCE verifier, not expired."""
    code_value = params.get("code")
    if not code_value:
        raise InvalidRequestError("code is required.")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        raise InvalidRequestError("redirect_uri is required.")
    now = int(time.time())
    code = db.session.scalar(
        select(AuthorizationCode).where(AuthorizationCode.code_hash == sha256_hex(code_value))
    )
    if code is None or code.client_id != client.client_id:
        raise InvalidGrantError("The authorization code is invalid.")
    if code.consumed_at is not None:
        raise InvalidGrantError("The authorization code has already been used.")
    if code.expires_at <= now:
        raise InvalidGrantError("The authorization code has expired.")
    if redirect_uri != code.redirect_uri:
        raise InvalidGrantError("redirect_uri does not match the authorization request.")
    pkce.check_verifier(params.get("code_verifier"), code.code_challenge)
    user = users.get(code.user_id)
    if user is None:
        raise InvalidGrantError("The user no longer exists.")
    # Conditional update: of two concurrent redemptions exactly one wins.
    won = db.session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code.id, AuthorizationCode.consumed_at.is_(None))
        .values(consumed_at=now)
    ).rowcount
    db.session.commit()
    if not won:
        raise InvalidGrantError("The authorization code has already been used.")

    scopes = code.scope.split()
    grant = tokens.Grant(
        issuer=config["ISSUER"],
        client_id=client.client_id,
        user_id=user.id,
        scopes=scopes,
        auth_time=code.auth_time,
        nonce=code.nonce,
    )
    keys = key_store()
    lifetime = config["ACCESS_TOKEN_LIFETIME"]
    access_token = tokens.mint_access_token(
        keys, grant, audience=config["ACCESS_TOKEN_AUDIENCE"], now=now, lifetime=lifetime
    )
    id_token = tokens.mint_id_token(
        keys,
        grant,
        access_token=access_token,
        user_claims=users.oidc_claims(user, scopes),
        now=now,
        lifetime=config["ID_TOKEN_LIFETIME"],
    )
    return {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "access_token": access_token,
        "id_token": id_token,
        "scope": " ".join(scopes),
    }


GRANTS: dict[str, GrantHandler] = {"authorization_code": authorization_code_grant}


def token_response(authorization: str | None, params: Mapping[str, str]) -> dict[str, Any]:
    """Dispatch a token request to its grant after authenticating the client."""
    grant_type = params.get("grant_type")
    if not grant_type:
        raise InvalidRequestError("grant_type is required.")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantTypeError(f"Unsupported grant_type: {grant_type}.")
    client = authenticate_client(authorization, params)
    if grant_type not in client.grant_types:
        raise UnauthorizedClientError(f"This client may not use {grant_type}.")
    return grant(client, params, current_app.config)


def token_endpoint() -> Response:
    """POST {issuer}/v1/token."""
    body = token_response(request.headers.get("Authorization"), single_valued(request.form))
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
