"""Scopes this IdP grants (RFC 6749 §3.3, OIDC Core §5.4 and §11)."""

from __future__ import annotations

from collections.abc import Iterable

from mock_idp.oidc.errors import InvalidScopeError

SUPPORTED_SCOPES = ("openid", "profile", "email")
# Accepted but not granted: no refresh tokens in this milestone, and OIDC Core §11 lets an OP
# ignore offline_access. The granted `scope` in the token response says so to the client.
IGNORED_SCOPES = ("offline_access",)


def grant_scopes(requested: str | None, client_scopes: Iterable[str]) -> list[str]:
    """The scopes to grant for a requested scope string, or InvalidScopeError."""
    names = list(dict.fromkeys((requested or "").split()))
    if "openid" not in names:
        raise InvalidScopeError("The scope must include 'openid'.")
    known = set(SUPPORTED_SCOPES) | set(IGNORED_SCOPES)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidScopeError(f"Unknown scope: {' '.join(unknown)}.")
    unregistered = [name for name in names if name not in set(client_scopes)]
    if unregistered:
        raise InvalidScopeError(f"Scope not allowed for this client: {' '.join(unregistered)}.")
    return [name for name in names if name not in IGNORED_SCOPES]
