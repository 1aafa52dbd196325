"""The success body every grant returns (contract §2.1, §5 row 1, §8), in Salesforce's key order.

Shared by the token exchange and the refresh grant: access token, optional refresh token, site
fields for a site request, ``signature``, ``scope``, optional ID token, then the fixed fields.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any

from mock_sf.models import User
from mock_sf.oauth.id_token import build_id_token
from mock_sf.oauth.keys import SigningKeys
from mock_sf.oauth.refresh_tokens import issue_refresh_token
from mock_sf.oauth.sites import Site
from mock_sf.oauth.tokens import issue_access_token
from mock_sf.org_config import AppSettings


def signature(client_secret: str, identity_url: str, issued_at: str) -> str:
    """Contract §4.1: base64(HMAC-SHA256(key=client secret, msg=id + issued_at))."""
    digest = hmac.new(
        client_secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def identity_url(sf_url: str, org_id: str, user_id: str) -> str:
    """``{SF_URL}/id/<org18>/<user18>``: the ``id`` field, and ``sub`` of ID token and userinfo."""
    return f"{sf_url}/id/{org_id}/{user_id}"


def issuer_for(config: Mapping[str, Any], site: Site | None) -> str:
    """The OpenID issuer: the site URL on a site request, else My Domain (SF_URL)."""
    return site.url if site else config["SF_URL"]


def issue_tokens(
    config: Mapping[str, Any],
    keys: SigningKeys,
    *,
    org_id: str,
    user: User,
    app: AppSettings,
    scope: str,
    site: Site | None,
    new_refresh_token: bool,
    parent_id: int | None = None,
) -> dict[str, Any]:
    """Stage the token rows (the caller commits) and build the response body."""
    now = time.time()
    issued_at = str(int(now * 1000))
    now_dt = datetime.fromtimestamp(now, UTC).replace(tzinfo=None)
    refresh_raw = None
    if new_refresh_token:
        parent_id, refresh_raw = issue_refresh_token(
            user, app, scope, now_dt, site.network_id if site else None
        )
    access_token = issue_access_token(
        org_id,
        user,
        app,
        scope,
        now_dt,
        config["ACCESS_TOKEN_LIFETIME"],
        refresh_token_id=parent_id,
    )
    identity = identity_url(config["SF_URL"], org_id, user.id)
    body: dict[str, Any] = {"access_token": access_token}
    if refresh_raw is not None:
        body["refresh_token"] = refresh_raw
    if site is not None:
        # Older docs and jsforce say sfdc_community_*, newer Help pages sfdc_site_*: send both.
        body["sfdc_community_url"] = site.url
        body["sfdc_community_id"] = site.network_id
        body["sfdc_site_url"] = site.url
        body["sfdc_site_id"] = site.network_id
    body["signature"] = signature(app.consumer_secret, identity, issued_at)
    body["scope"] = scope
    if "openid" in scope.split():
        body["id_token"] = build_id_token(
            keys.active,
            issuer=issuer_for(config, site),
            audience=app.consumer_key,
            identity_url=identity,
            access_token=access_token,
            issued_at=int(now),
            lifetime_seconds=config["ID_TOKEN_LIFETIME"],
        )
    body["instance_url"] = config["SF_URL"]
    body["id"] = identity
    body["token_type"] = "Bearer"
    body["issued_at"] = issued_at
    return body
