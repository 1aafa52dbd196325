"""``/services/oauth2/introspect`` (RFC 7662 as Salesforce answers it, contract §5).

The caller authenticates as a connected app (secret in the body or HTTP Basic, always required);
a live token of THAT app is ``active`` with its details, anything else just ``{"active": false}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from mock_sf import org_config
from mock_sf.models import User
from mock_sf.oauth import throttle
from mock_sf.oauth.client_auth import read_credentials
from mock_sf.oauth.errors import NO_STORE
from mock_sf.oauth.errors import missing_parameter
from mock_sf.oauth.params import single_valued
from mock_sf.oauth.refresh_tokens import find_refresh_token
from mock_sf.oauth.sites import current_site
from mock_sf.oauth.token_response import identity_url
from mock_sf.oauth.tokens import find_access_token
from mock_sf.org_config import AppSettings

INACTIVE = {"active": False}


def _epoch(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def introspect_endpoint() -> tuple[Response, int, dict[str, str]]:
    """RFC 7662 introspection for the authenticated app's tokens."""
    current_site()
    body = introspect(
        single_valued(request.form),
        request.headers.get("Authorization"),
        current_app.config["SF_URL"],
        address=request.remote_addr or "",
    )
    return jsonify(body), 200, NO_STORE


def introspect(
    form: Mapping[str, str], authorization: str | None, sf_url: str, address: str = ""
) -> dict[str, Any]:
    """The introspection response for ``form['token']``; the caller at ``address`` is under the
    client-secret throttle."""
    org = org_config.current()
    credentials = read_credentials(form, authorization)
    app = throttle.authenticate_client_throttled(
        credentials, org, address, current_app.config, lambda _app: True
    )
    raw = form.get("token")
    if not raw:
        raise missing_parameter("token")
    # The hint only decides which kind is looked up first; both are tried.
    kinds = ["access_token", "refresh_token"]
    if form.get("token_type_hint") == "refresh_token":
        kinds.reverse()
    for kind in kinds:
        found = _lookup(kind, raw, app, sf_url, org.org_id)
        if found is not None:
            return found
    return INACTIVE


def _lookup(
    kind: str, raw: str, app: AppSettings, sf_url: str, org_id: str
) -> dict[str, Any] | None:
    row = find_access_token(raw) if kind == "access_token" else find_refresh_token(raw)
    if row is None:
        return None
    if row.app_id != app.id or not row.user.is_active:
        return INACTIVE
    body = _claims(row.user, app, row.scopes, kind, identity_url(sf_url, org_id, row.user.id))
    if kind == "access_token":
        body["exp"] = _epoch(row.expires_at)
    body["iat"] = body["nbf"] = _epoch(row.issued_at)
    return body


def _claims(user: User, app: AppSettings, scope: str, kind: str, sub: str) -> dict[str, Any]:
    return {
        "active": True,
        "scope": scope,
        "client_id": app.consumer_key,
        "username": user.username,
        "sub": sub,
        "token_type": kind,
    }
