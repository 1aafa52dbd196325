"""Proof Key for Code Exchange, S256 only (RFC 7636 §4.1-4.6)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from mock_idp.oidc.errors import InvalidGrantError
from mock_idp.oidc.errors import InvalidRequestError

METHODS = ("S256",)
# Both the verifier and an S256 challenge are 43-128 chars of the unreserved set (§4.1, §4.2).
_SHAPE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def check_challenge(challenge: str | None, method: str | None) -> str:
    """The challenge of an authorize request; every client must send one, by S256."""
    if not challenge:
        raise InvalidRequestError("code_challenge is required (PKCE).")
    if method not in METHODS:
        # An absent method means "plain" (§4.3), which is refused like any other.
        raise InvalidRequestError("code_challenge_method must be S256.")
    if not _SHAPE.fullmatch(challenge):
        raise InvalidRequestError("code_challenge is malformed.")
    return challenge


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_verifier(verifier: str | None, challenge: str) -> None:
    """Accept the token request's verifier only if it hashes to the stored challenge."""
    if not verifier:
        raise InvalidRequestError("code_verifier is required.")
    if not _SHAPE.fullmatch(verifier):
        raise InvalidRequestError("code_verifier is malformed.")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrantError("code_verifier does not match the code_challenge.")
