"""`POST /_demo/rotate-keys` (a demo control): the rotation of mock_idp/key_rotation.py, from a
script, inside the running app."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify

from mock_idp.key_rotation import rotate

bp = Blueprint("key_rotation", __name__, url_prefix="/_demo")


@bp.post("/rotate-keys")
def rotate_keys() -> Response:
    """POST /_demo/rotate-keys: rotate inside the running app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return jsonify(rotate(app, app.extensions["mock_idp.keys"]))
