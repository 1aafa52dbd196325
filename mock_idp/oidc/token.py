"""Token endpoint and its grants: authorization_code, refresh_token, client_credentials
(RFC 6749 §3.2, §4.1.3-4.1.4, §4.4, §5, §6; OIDC Core §3.1.3, §12)."""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any
from typing import NoReturn

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
from mock_idp.models import User
from mock_idp.models import db
from mock_idp.models import sha256_hex
from mock_idp.oidc import grants
from mock_idp.oidc import pkce
from mock_idp.oidc import tokens
from mock_idp.oidc.client_auth import authenticate_client
from mock_idp.oidc.errors import InvalidGrantError
from mock_idp.oidc.errors import InvalidRequestError
from mock_idp.oidc.errors import UnauthorizedClientError
from mock_idp.oidc.errors import UnsupportedGrantTypeError
from mock_idp.oidc.params import single_valued
from mock_idp.oidc.scopes import OFFLINE_ACCESS
from mock_idp.oidc.scopes import grant_service_scopes
from mock_idp.oidc.scopes import narrow

GrantHandler = Callable[[Client, Mapping[str, str], Mapping[str, Any]], dict[str, Any]]


def authorization_code_grant(
    client: Client, params: Mapping[str, str], config: Mapping[str, Any]
) -> dict[str, Any]:
    """Redeem a code once: same client, same redirect_uri, matching PKCE verifier, not expired.

    A replayed code revokes the grant its first redemption started (RFC 6749 §4.1.2 SHOULD): the
    replay means the code leaked, so the tokens issued from it may be in the wrong hands too.
    """
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
    code_hash = code.code_hash
    if code.consumed_at is not None:
        _revoke_for_code_replay(code_hash, now)
    if code.expires_at <= now:
        raise InvalidGrantError("The authorization code has expired.")
    if redirect_uri != code.redirect_uri:
        raise InvalidGrantError("redirect_uri does not match the authorization request.")
    # A failed verifier leaves the code unspent (RFC 7636 §4.6 asks only for the refusal):
    # burning it would let whoever saw the code (a log, a Referer) deny the client its login.
    pkce.check_verifier(params.get("code_verifier"), code.code_challenge)
    user = users.get(code.user_id)
    if user is None:
        raise InvalidGrantError("The user no longer exists.")
    # Conditional update: of two concurrent redemptions exactly one wins; the winner's grant is
    # committed with the consumption, so a replay always finds what to revoke.
    won = db.session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code.id, AuthorizationCode.consumed_at.is_(None))
        .values(consumed_at=now)
    ).rowcount
    if not won:
        db.session.rollback()
        _revoke_for_code_replay(code_hash, now)
    family = grants.start_family(
        client_id=client.client_id,
        user_id=user.id,
        scope=code.scope,
        auth_time=code.auth_time,
        now=now,
        lifetimes=refresh_lifetimes(config),
        code_hash=code_hash,
        sid=code.sid,
    )
    db.session.commit()

    scopes = code.scope.split()
    body = user_tokens(
        client, user, scopes, auth_time=code.auth_time, nonce=code.nonce, family=family,
        sid=code.sid,
        config=config, now=now,
        refresh=OFFLINE_ACCESS in scopes and "refresh_token" in client.grant_types,
    )  # fmt: skip
    db.session.commit()
    return body


def refresh_lifetimes(config: Mapping[str, Any]) -> grants.Lifetimes:
    """The configured refresh token lifetimes."""
    idle = config.get("REFRESH_TOKEN_IDLE_LIFETIME")
    return grants.Lifetimes(
        absolute=int(config["REFRESH_TOKEN_LIFETIME"]), idle=int(idle) if idle else None
    )


def user_tokens(
    client: Client,
    user: User,
    scopes: list[str],
    *,
    auth_time: int,
    nonce: str | None,
    family: grants.GrantFamily | None,
    config: Mapping[str, Any],
    now: int,
    refresh: bool = True,
    sid: str | None = None,
) -> dict[str, Any]:
    """Access token (recorded in `family`), ID token if `openid`, refresh token if `refresh`.

    The caller commits.
    """
    grant = tokens.Grant(
        issuer=config["ISSUER"],
        client_id=client.client_id,
        user_id=user.id,
        scopes=scopes,
        auth_time=auth_time,
        nonce=nonce,
        sid=sid,
    )
    keys = key_store()
    lifetime = config["ACCESS_TOKEN_LIFETIME"]
    jti = tokens.new_jti()
    access_token = tokens.mint_access_token(
        keys, grant, audience=config["ACCESS_TOKEN_AUDIENCE"], now=now, lifetime=lifetime, jti=jti
    )
    grants.record_access_token(
        jti=jti,
        client_id=client.client_id,
        family_id=family.id if family is not None else None,
        expires_at=now + lifetime,
    )
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "access_token": access_token,
        "scope": " ".join(scopes),
    }
    if "openid" in scopes:
        body["id_token"] = tokens.mint_id_token(
            keys,
            grant,
            access_token=access_token,
            user_claims=users.oidc_claims(user, scopes),
            now=now,
            lifetime=config["ID_TOKEN_LIFETIME"],
        )
    if family is not None and refresh:
        body["refresh_token"] = grants.issue_refresh_token(
            family, now=now, lifetimes=refresh_lifetimes(config)
        )
    return body


def refresh_token_grant(
    client: Client, params: Mapping[str, str], config: Mapping[str, Any]
) -> dict[str, Any]:
    """Rotate a refresh token (RFC 6749 §6): new access, ID and refresh tokens, scope ⊆ grant.

    Presenting an already rotated token is taken as theft (RFC 9700 §4.14.2): the family dies.
    """
    value = params.get("refresh_token")
    if not value:
        raise InvalidRequestError("refresh_token is required.")
    now = int(time.time())
    token = grants.find_refresh_token(value)
    family = db.session.get(grants.GrantFamily, token.family_id) if token is not None else None
    if token is None or family is None or family.client_id != client.client_id:
        raise InvalidGrantError("The refresh token is invalid.")
    if family.revoked_at is not None or token.revoked_at is not None:
        raise InvalidGrantError("The refresh token has been revoked.")
    if token.used_at is not None:
        _revoke_for_reuse(family.id, now)
    if token.expires_at <= now:
        raise InvalidGrantError("The refresh token has expired.")
    scopes = narrow(params.get("scope"), family.scope.split())
    user = users.get(family.user_id)
    if user is None:
        raise InvalidGrantError("The user no longer exists.")
    if not grants.mark_used(token, now):
        _revoke_for_reuse(family.id, now)  # lost a race with another use of the same token
    body = user_tokens(
        client, user, scopes, auth_time=family.auth_time, nonce=None, family=family,
        sid=family.sid,
        config=config, now=now,
    )  # fmt: skip
    grants.prune(now)
    db.session.commit()
    return body


def _revoke_for_code_replay(code_hash: str, now: int) -> NoReturn:
    grants.revoke_code_grant(code_hash, now=now)
    db.session.commit()
    current_app.logger.warning("authorization code replayed; its grant is revoked")
    raise InvalidGrantError("The authorization code has already been used.")


def _revoke_for_reuse(family_id: str, now: int) -> NoReturn:
    grants.revoke_family(family_id, now=now, reason="refresh_token_reuse")
    db.session.commit()
    raise InvalidGrantError("The refresh token was already used; the grant is revoked.")


def client_credentials_grant(
    client: Client, params: Mapping[str, str], config: Mapping[str, Any]
) -> dict[str, Any]:
    """A service client's own access token (RFC 6749 §4.4): sub = client, no ID/refresh token."""
    if client.token_endpoint_auth_method == "none":
        raise UnauthorizedClientError("A public client cannot use client_credentials.")
    scopes = grant_service_scopes(params.get("scope"), client.scopes)
    now = int(time.time())
    lifetime = config["ACCESS_TOKEN_LIFETIME"]
    jti = tokens.new_jti()
    access_token = tokens.mint_service_access_token(
        key_store(),
        issuer=config["ISSUER"],
        client_id=client.client_id,
        scopes=scopes,
        audience=config["ACCESS_TOKEN_AUDIENCE"],
        now=now,
        lifetime=lifetime,
        jti=jti,
    )
    grants.record_access_token(
        jti=jti, client_id=client.client_id, family_id=None, expires_at=now + lifetime
    )
    db.session.commit()
    return {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "access_token": access_token,
        "scope": " ".join(scopes),
    }


GRANTS: dict[str, GrantHandler] = {
    "authorization_code": authorization_code_grant,
    "refresh_token": refresh_token_grant,
    "client_credentials": client_credentials_grant,
}


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
