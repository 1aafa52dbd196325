"""Minting the ID token (OIDC Core §2, §3.1.3.6) and the JWT access token (RFC 9068)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from mock_idp.keys import KeyStore

ACCESS_TOKEN_TYP = "at+jwt"
ID_TOKEN_TYP = "JWT"


@dataclass(frozen=True)
class Grant:
    """Who got what: the facts both tokens are minted from."""

    issuer: str
    client_id: str
    user_id: str
    scopes: list[str]
    auth_time: int
    nonce: str | None
    sid: str | None = None  # the IdP session, for logout (OIDC Front-Channel Logout §3)


def new_jti() -> str:
    """A fresh access token id (Okta's `AT.` prefix)."""
    return "AT." + secrets.token_urlsafe(24)


def mint_access_token(
    keys: KeyStore,
    grant: Grant,
    *,
    audience: str,
    now: int,
    lifetime: int,
    jti: str | None = None,
) -> str:
    """An RFC 9068 access token with Okta's claim names (`cid`, `uid`, `scp`)."""
    claims = {
        "iss": grant.issuer,
        "sub": grant.user_id,
        "aud": audience,
        "exp": now + lifetime,
        "iat": now,
        "jti": jti or new_jti(),
        "client_id": grant.client_id,
        "cid": grant.client_id,
        "uid": grant.user_id,
        "scp": list(grant.scopes),
    }
    return keys.sign(claims, ACCESS_TOKEN_TYP)


def mint_service_access_token(
    keys: KeyStore,
    *,
    issuer: str,
    client_id: str,
    scopes: list[str],
    audience: str,
    now: int,
    lifetime: int,
    jti: str,
) -> str:
    """A client_credentials access token: the client is the subject, so no `uid` (as Okta)."""
    claims = {
        "iss": issuer,
        "sub": client_id,
        "aud": audience,
        "exp": now + lifetime,
        "iat": now,
        "jti": jti,
        "client_id": client_id,
        "cid": client_id,
        "scp": list(scopes),
    }
    return keys.sign(claims, ACCESS_TOKEN_TYP)


def mint_id_token(
    keys: KeyStore,
    grant: Grant,
    *,
    access_token: str,
    user_claims: dict[str, Any],
    now: int,
    lifetime: int,
) -> str:
    """An ID token for the client, bound to its access token by at_hash."""
    claims: dict[str, Any] = {
        "iss": grant.issuer,
        "sub": grant.user_id,
        "aud": grant.client_id,
        "exp": now + lifetime,
        "iat": now,
        "auth_time": grant.auth_time,
        "at_hash": at_hash(access_token),
        # As Okta's: a relying party that trades the ID token (RFC 8693) can spend it once.
        "jti": "ID." + secrets.token_urlsafe(24),
    }
    if grant.nonce is not None:
        claims["nonce"] = grant.nonce
    if grant.sid is not None:
        claims["sid"] = grant.sid
    return keys.sign({**user_claims, **claims}, ID_TOKEN_TYP)


def at_hash(access_token: str) -> str:
    """Left half of SHA-256 of the token's ASCII, base64url without padding (RS256)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")
