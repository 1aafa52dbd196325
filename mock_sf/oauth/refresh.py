"""The ``refresh_token`` grant for refresh tokens mock_sf issued (contract §5 row 1).

Client authentication as for the exchange (and under its client-secret throttle), with the app's
"Require Secret for Refresh Token Flow"; the new access token joins the refresh token's family; no
new refresh token unless the app rotates them (then the old one stops working). Any unknown,
revoked or foreign refresh token gets ``invalid_grant`` "expired access/refresh token".
"""

from __future__ import annotations

from typing import Any

from mock_sf import org_config
from mock_sf.handlers.base import HandlerContext
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.oauth import throttle
from mock_sf.oauth.client_auth import read_credentials
from mock_sf.oauth.errors import InvalidGrant
from mock_sf.oauth.errors import missing_parameter
from mock_sf.oauth.keys import signing_keys
from mock_sf.oauth.permitted_users import check_permitted
from mock_sf.oauth.refresh_tokens import find_refresh_token
from mock_sf.oauth.token_exchange import TokenRequest
from mock_sf.oauth.token_response import issue_tokens
from mock_sf.org_config import AppSettings

EXPIRED = "expired access/refresh token"


def _refresh_secret(app: AppSettings) -> bool:
    return app.is_secret_required_for_refresh_token


class RefreshTokenGrant:
    """``grant_type=refresh_token``."""

    GRANT_TYPE = "refresh_token"

    def __init__(self, context: HandlerContext) -> None:
        self.context = context
        self.config = context.config

    def respond(self, request: TokenRequest) -> dict[str, Any]:
        """A new access token for a live refresh token of the same app."""
        raw = request.form.get("refresh_token")
        if not raw:
            raise missing_parameter("refresh_token")
        org = org_config.current()
        app = throttle.authenticate_client_throttled(
            read_credentials(request.form, request.authorization),
            org,
            request.remote_addr,
            self.config,
            _refresh_secret,
        )
        refresh = find_refresh_token(raw)
        if refresh is None:
            raise InvalidGrant(EXPIRED, reason="unknown or revoked refresh token")
        if refresh.app_id != app.id:
            raise InvalidGrant(
                EXPIRED, reason=f"refresh token of another app, not {app.developer_name}"
            )
        if not refresh.user.is_active:
            raise InvalidGrant("inactive user", reason=f"user {refresh.user_id} is inactive")
        check_permitted(app, refresh.user)  # a policy or profile change ends refreshes too
        rotate = app.is_refresh_token_rotation_enabled
        if rotate:
            refresh.revoked_at = utcnow()
        body = issue_tokens(
            self.config,
            signing_keys(),
            org_id=org.org_id,
            user=refresh.user,
            app=app,
            scope=refresh.scopes,
            site=request.site,
            new_refresh_token=rotate,
            parent_id=refresh.id,
        )
        db.session.commit()
        return body
