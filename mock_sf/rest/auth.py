"""Who is calling the REST API: ``Authorization: Bearer <token>`` (or ``OAuth <token>``)."""

from __future__ import annotations

from mock_sf.models import OAuthToken
from mock_sf.oauth.tokens import find_access_token
from mock_sf.profiles import api_enabled
from mock_sf.rest.errors import ApiDisabledForOrg
from mock_sf.rest.errors import InvalidSessionId

REST_SCOPES = frozenset({"api", "full"})


def authenticate(authorization: str | None) -> OAuthToken:
    """The live token behind the header; anything else is 401 INVALID_SESSION_ID."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    raw = value.strip()
    if scheme.lower() not in ("bearer", "oauth") or not raw:
        raise InvalidSessionId()
    token = find_access_token(raw)
    if token is None or not token.user.is_active:
        raise InvalidSessionId()
    if not REST_SCOPES & set(token.scopes.split()):
        raise InvalidSessionId("This session is not valid for use with the REST API")
    # The token is issued either way; the REST API refuses a user without API Enabled.
    if not api_enabled(token.user):
        raise ApiDisabledForOrg()
    return token
