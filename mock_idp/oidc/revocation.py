"""Token revocation (RFC 7009) at {issuer}/v1/revoke, for access and refresh tokens."""

from __future__ import annotations

import time

from flask import Response
from flask import current_app
from flask import request

from mock_idp.keys import key_store
from mock_idp.models import db
from mock_idp.oidc import grants
from mock_idp.oidc import token_status
from mock_idp.oidc.client_auth import authenticate_client
from mock_idp.oidc.errors import InvalidRequestError
from mock_idp.oidc.errors import UnauthorizedClientError
from mock_idp.oidc.params import single_valued
from mock_idp.oidc.token_status import KnownToken


def revoke(found: KnownToken | None, client_id: str, now: int) -> None:
    """Revoke a token of `client_id`: a refresh token takes its whole grant with it (§2.1).

    Unknown, expired or already revoked tokens need nothing (§2.2). Another client's token is
    refused, as §2.1 says; the caller already holds it, so nothing leaks.
    """
    if found is None:
        return
    if found.client_id != client_id:
        raise UnauthorizedClientError("The token was not issued to this client.")
    if found.kind == "refresh_token" and found.family_id is not None:
        grants.revoke_family(found.family_id, now=now, reason="revoked")
    elif found.kind == "access_token":
        grants.revoke_access_token(
            jti=found.claims["jti"], client_id=client_id, expires_at=found.claims["exp"], now=now
        )
    db.session.commit()


def revoke_endpoint() -> Response:
    """POST {issuer}/v1/revoke: 200 with an empty body whether or not the token was known."""
    params = single_valued(request.form)
    client = authenticate_client(request.headers.get("Authorization"), params)
    token = params.get("token")
    if not token:
        raise InvalidRequestError("token is required.")
    found = token_status.find(key_store(), token, params.get("token_type_hint"), current_app.config)
    revoke(found, client.client_id, int(time.time()))
    response = Response(status=200)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
