"""``/services/oauth2/revoke`` (contract §5): revoke an access or refresh token this org issued.

A refresh token takes its access tokens with it. Success is 200 with an empty body; every error is
400 ``invalid_token`` or ``unsupported_token_type``. Like Salesforce, no client authentication:
holding the token is enough to end it.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import request
from sqlalchemy import delete

from mock_sf.models import OAuthToken
from mock_sf.models import db
from mock_sf.oauth.errors import NO_STORE
from mock_sf.oauth.errors import InvalidToken
from mock_sf.oauth.errors import UnsupportedTokenType
from mock_sf.oauth.refresh_tokens import find_refresh_token
from mock_sf.oauth.refresh_tokens import revoke_refresh_token
from mock_sf.oauth.sites import current_site
from mock_sf.oauth.tokens import find_access_token

TOKEN_TYPE_HINTS = frozenset({"access_token", "refresh_token"})


def revoke(params: Mapping[str, str]) -> None:
    """Revoke ``params['token']`` (form or query), or raise InvalidToken/UnsupportedTokenType."""
    raw = params.get("token")
    hint = params.get("token_type_hint")
    if hint and hint not in TOKEN_TYPE_HINTS:
        raise UnsupportedTokenType(reason=f"token_type_hint {hint!r}")
    if not raw:
        raise InvalidToken(reason="no token parameter")
    refresh = find_refresh_token(raw)
    if refresh is not None:
        revoke_refresh_token(refresh)
    else:
        access = find_access_token(raw)
        if access is None:
            raise InvalidToken(reason="not a live token of this org")
        db.session.execute(delete(OAuthToken).where(OAuthToken.id == access.id))
    db.session.commit()


def revoke_endpoint() -> tuple[str, int, dict[str, str]]:
    """Revoke a token: POST form, or Salesforce's "blind GET" with ``?token=``."""
    current_site()
    revoke(request.form if request.method == "POST" else request.args)
    return "", 200, NO_STORE
