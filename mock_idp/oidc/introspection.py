"""Token introspection (RFC 7662) at {issuer}/v1/introspect, for access and refresh tokens."""

from __future__ import annotations

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from mock_idp.keys import key_store
from mock_idp.oidc import token_status
from mock_idp.oidc.client_auth import authenticate_client
from mock_idp.oidc.errors import InvalidRequestError
from mock_idp.oidc.params import single_valued


def introspect_endpoint() -> Response:
    """POST {issuer}/v1/introspect: the caller's own token's facts, else `active: false`."""
    params = single_valued(request.form)
    client = authenticate_client(request.headers.get("Authorization"), params)
    token = params.get("token")
    if not token:
        raise InvalidRequestError("token is required.")
    found = token_status.find(key_store(), token, params.get("token_type_hint"), current_app.config)
    allowed = {client.client_id, *client.introspects_for}
    response = jsonify(token_status.introspection_response(found, allowed))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
