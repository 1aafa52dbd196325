"""What a presented token is and whether it is still good: shared by introspection (RFC 7662),
revocation (RFC 7009) and userinfo.

Access tokens are this issuer's JWTs (signature by a published key, typ, iss, aud, exp), then
checked against the revocation record of their jti and family. Refresh tokens are looked up by
hash. A JWT whose jti was never recorded (for instance one the forge minted) is judged by its
signature and expiry alone.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import Literal

import jwt

from mock_idp import users
from mock_idp.keys import KeyStore
from mock_idp.models import db
from mock_idp.oidc import grants
from mock_idp.oidc.tokens import ACCESS_TOKEN_TYP

TokenKind = Literal["access_token", "refresh_token"]


@dataclass(frozen=True)
class KnownToken:
    """A token this IdP issued, as found: its kind, owner, claims, and whether it is active."""

    kind: TokenKind
    client_id: str
    active: bool
    claims: dict[str, Any]
    family_id: str | None = None


def find_access_token(keys: KeyStore, token: str, config: Mapping[str, Any]) -> KnownToken | None:
    """The access token if this issuer signed it (expired or revoked: found, not active)."""
    try:
        claims = keys.verify(
            token,
            typ=ACCESS_TOKEN_TYP,
            issuer=config["ISSUER"],
            audience=config["ACCESS_TOKEN_AUDIENCE"],
            verify_exp=False,
        )
    except jwt.PyJWTError:
        return None
    client_id = claims.get("client_id")
    jti = claims.get("jti")
    if not isinstance(client_id, str) or not isinstance(jti, str):
        return None
    # PyJWT has already checked exp's type; leeway stays zero at the introspection boundary.
    active = int(claims["exp"]) > _now() and not grants.access_token_revoked(jti)
    return KnownToken("access_token", client_id, active, claims)


def find_refresh_token(token: str, config: Mapping[str, Any]) -> KnownToken | None:
    """The refresh token with this value, described in introspection claims."""
    record = grants.find_refresh_token(token)
    if record is None:
        return None
    family = db.session.get(grants.GrantFamily, record.family_id)
    if family is None:
        return None
    now = _now()
    active = (
        record.used_at is None
        and record.revoked_at is None
        and family.revoked_at is None
        and record.expires_at > now
    )
    claims = {
        "iss": config["ISSUER"],
        "sub": family.user_id,
        "aud": config["ACCESS_TOKEN_AUDIENCE"],
        "exp": record.expires_at,
        "iat": record.issued_at,
        "jti": record.jti,
        "client_id": family.client_id,
        "uid": family.user_id,
        "scp": family.scope.split(),
    }
    return KnownToken("refresh_token", family.client_id, active, claims, family_id=family.id)


def find(
    keys: KeyStore, token: str, hint: str | None, config: Mapping[str, Any]
) -> KnownToken | None:
    """The token, looked up first as the hinted kind, then as the other (RFC 7662 §2.1)."""
    lookups = [
        lambda: find_access_token(keys, token, config),
        lambda: find_refresh_token(token, config),
    ]
    if hint == "refresh_token":
        lookups.reverse()
    for lookup in lookups:
        found = lookup()
        if found is not None:
            return found
    return None


def introspection_response(found: KnownToken | None, allowed_clients: set[str]) -> dict[str, Any]:
    """RFC 7662 §2.2: the active token's facts, or only `active: false`.

    A token issued to a client outside `allowed_clients` (the caller, plus the clients it is a
    resource server for) is reported inactive, as Okta does: a client learns nothing about tokens
    it has no business with.
    """
    if found is None or not found.active or found.client_id not in allowed_clients:
        return {"active": False}
    claims = found.claims
    body: dict[str, Any] = {
        "active": True,
        "scope": " ".join(claims.get("scp", [])),
        "client_id": found.client_id,
        "exp": claims["exp"],
        "iat": claims["iat"],
        # Our tokens are valid from issue; RFC 7662 nbf says just that.
        "nbf": claims.get("nbf", claims["iat"]),
        "sub": claims["sub"],
        "aud": claims["aud"],
        "iss": claims["iss"],
        "jti": claims["jti"],
    }
    if found.kind == "access_token":
        body["token_type"] = "Bearer"
    uid = claims.get("uid")
    if isinstance(uid, str):
        user = users.get(uid)
        body["uid"] = uid
        if user is not None:
            body["username"] = user.email
    return body


def _now() -> int:
    return int(time.time())
