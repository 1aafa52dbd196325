"""``GET /openapi.json``: the OpenAPI description of the token endpoint, the OAuth endpoints
around it and the REST API (``mock_sf/openapi.json``). A mock aid: Salesforce publishes no such
document, and the path is none of Salesforce's. tests/fuzz checks it covers every route."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import current_app

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The document as packaged."""
    return Response(document(current_app.root_path), mimetype="application/json")


@cache
def document(root_path: str) -> bytes:
    """Read once per process."""
    return (Path(root_path) / "openapi.json").read_bytes()
