"""UserInfo endpoint (OIDC Core §5.3) guarded by this issuer's JWT access tokens (RFC 6750).

The token may come in the Authorization header (§2.1) or, on a form-encoded POST, as the
`access_token` body parameter (§2.2), but in only one of them (§2). A token in the query string
(§2.3) is not a method this server accepts: it leaks into logs and Referer headers.
"""

from __future__ import annotations

from typing import Any

import jwt
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from mock_idp import users
from mock_idp.keys import KeyStore
from mock_idp.keys import key_store
from mock_idp.oidc import grants
from mock_idp.oidc.errors import InsufficientScopeError
from mock_idp.oidc.errors import InvalidBearerRequestError
from mock_idp.oidc.errors import InvalidTokenError
from mock_idp.oidc.errors import MissingTokenError
from mock_idp.oidc.params import single_valued
from mock_idp.oidc.tokens import ACCESS_TOKEN_TYP

FORM_ENCODED = "application/x-www-form-urlencoded"


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer` header (RFC 6750 §2.1)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise MissingTokenError("A Bearer access token is required.")
    return token.strip()


def presented_token(authorization: str | None, body_token: str | None) -> str:
    """The one token of the request, from the header or the form body (RFC 6750 §2)."""
    if body_token is None:
        return bearer_token(authorization)
    if (authorization or "").partition(" ")[0].lower() == "bearer":
        raise InvalidBearerRequestError("Send the access token in one way only.")
    return body_token


def form_body_token() -> str | None:
    """`access_token` of a form-encoded POST body (§2.2: never GET, never multipart)."""
    if request.method != "POST" or request.mimetype != FORM_ENCODED:
        return None
    return single_valued(request.form).get("access_token")


def verify_access_token(
    keys: KeyStore, token: str, *, issuer: str, audience: str
) -> dict[str, Any]:
    """Claims of an access token this issuer minted: RS256, own key, at+jwt, iss, aud, exp."""
    try:
        claims = keys.verify(token, typ=ACCESS_TOKEN_TYP, issuer=issuer, audience=audience)
    except jwt.PyJWTError as exc:
        raise InvalidTokenError("The access token is invalid.") from exc
    if isinstance(claims.get("jti"), str) and grants.access_token_revoked(claims["jti"]):
        raise InvalidTokenError("The access token has been revoked.")
    return claims


def userinfo_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """The user's claims released by the token's `scp`, with `sub` first."""
    scopes = claims.get("scp")
    if not isinstance(scopes, list) or "openid" not in scopes:
        raise InsufficientScopeError("The access token lacks the openid scope.")
    user = users.get(str(claims["sub"]))
    if user is None:
        raise InvalidTokenError("The access token's subject no longer exists.")
    return {"sub": user.id, **users.oidc_claims(user, scopes)}


def userinfo_endpoint() -> Response:
    """GET|POST {issuer}/v1/userinfo."""
    config = current_app.config
    claims = verify_access_token(
        key_store(),
        presented_token(request.headers.get("Authorization"), form_body_token()),
        issuer=config["ISSUER"],
        audience=config["ACCESS_TOKEN_AUDIENCE"],
    )
    response = jsonify(userinfo_claims(claims))
    response.headers["Cache-Control"] = "no-store"
    return response
