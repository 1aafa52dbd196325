"""Salesforce ID tokens (``openid`` scope): RS256 JWTs signed with mock_sf's key.

Claims as Salesforce issues them: ``iss`` the login host (My Domain, or the site URL for a site
request), ``sub`` the identity URL, ``aud`` the consumer key, ``at_hash`` over the access token.
"""

from __future__ import annotations

import base64
import hashlib

import jwt

from mock_sf.oauth.keys import ALGORITHM
from mock_sf.oauth.keys import SigningKey


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def build_id_token(
    key: SigningKey,
    *,
    issuer: str,
    audience: str,
    identity_url: str,
    access_token: str,
    issued_at: int,
    lifetime_seconds: int,
) -> str:
    """Sign an ID token for the user behind ``identity_url``."""
    claims = {
        "at_hash": at_hash(access_token),
        "sub": identity_url,
        "aud": audience,
        "iss": issuer,
        "exp": issued_at + lifetime_seconds,
        "iat": issued_at,
    }
    return jwt.encode(
        claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"}
    )
