"""``/id/keys``: the public keys that verify mock_sf's ID tokens (the key store is keys.py)."""

from __future__ import annotations

from flask import Response
from flask import jsonify

from mock_sf.oauth.keys import signing_keys


def jwks_endpoint() -> Response:
    """The JWKS of mock_sf's signing keys."""
    return jsonify(signing_keys().jwks())
