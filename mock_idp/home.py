"""The home page (what this is) and the health check."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """Say honestly what this service is and where its metadata lives."""
    issuer = current_app.config["ISSUER"]
    return render_template(
        "home/index.html",
        issuer=issuer,
        discovery_url=issuer + "/.well-known/openid-configuration",
        saml_entity_id=current_app.config["SAML_ENTITY_ID"],
        demo_controls=bool(current_app.config.get("DEMO_CONTROLS")),
    )


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers; nothing remote is checked."""
    return jsonify(status="ok")
