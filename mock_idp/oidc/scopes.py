"""Scopes this IdP grants (RFC 6749 §3.3, §6; OIDC Core §5.4 and §11)."""

from __future__ import annotations

from collections.abc import Iterable

from mock_idp.oidc.errors import InvalidScopeError

# offline_access asks for a refresh token. Unlike OIDC Core §11's suggestion (and like Okta),
# it needs no prompt=consent: there is no consent screen.
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
# Scopes of the platform's own APIs, granted to users and to service clients alike.
API_SCOPES = ("schedule.read",)
SUPPORTED_SCOPES = OIDC_SCOPES + API_SCOPES
OFFLINE_ACCESS = "offline_access"


def _names(requested: str | None) -> list[str]:
    return list(dict.fromkeys((requested or "").split()))


def _check_known_and_registered(names: list[str], client_scopes: Iterable[str]) -> None:
    unknown = [name for name in names if name not in SUPPORTED_SCOPES]
    if unknown:
        raise InvalidScopeError(f"Unknown scope: {' '.join(unknown)}.")
    unregistered = [name for name in names if name not in set(client_scopes)]
    if unregistered:
        raise InvalidScopeError(f"Scope not allowed for this client: {' '.join(unregistered)}.")


def grant_scopes(requested: str | None, client_scopes: Iterable[str]) -> list[str]:
    """The scopes to grant for an authorization request, or InvalidScopeError."""
    names = _names(requested)
    if "openid" not in names:
        raise InvalidScopeError("The scope must include 'openid'.")
    _check_known_and_registered(names, client_scopes)
    return names


def grant_service_scopes(requested: str | None, client_scopes: Iterable[str]) -> list[str]:
    """Scopes for client_credentials: API scopes only (no user); default all registered ones."""
    registered = [name for name in client_scopes if name in API_SCOPES]
    names = _names(requested) or registered
    if not names:
        raise InvalidScopeError("This client has no API scopes to grant.")
    user_scopes = [name for name in names if name in OIDC_SCOPES]
    if user_scopes:
        raise InvalidScopeError(f"No user in client_credentials: {' '.join(user_scopes)}.")
    _check_known_and_registered(names, client_scopes)
    return names


def narrow(requested: str | None, original: list[str]) -> list[str]:
    """Scopes for a refresh: the original grant, or a subset of it (RFC 6749 §6)."""
    names = _names(requested)
    if not names:
        return list(original)
    extra = [name for name in names if name not in original]
    if extra:
        raise InvalidScopeError(f"Scope exceeds the original grant: {' '.join(extra)}.")
    return names
