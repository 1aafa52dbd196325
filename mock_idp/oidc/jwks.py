"""The issuer's public JWK Set (RFC 7517 §5), served at {issuer}/v1/keys."""

from __future__ import annotations

from flask import Response
from flask import current_app
from flask import jsonify

from mock_idp.keys import key_store


def keys() -> Response:
    """GET {issuer}/v1/keys: public keys only, briefly cacheable."""
    # The file as it is now: another worker may have rotated and be signing with the new key.
    response = jsonify(key_store(latest=True).public_jwks())
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["JWKS_MAX_AGE"]
    return response
