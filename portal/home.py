"""The landing page and the health check."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import request

from .auth import logout_finished

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    # The IdP sends the browser back here after logout, with the state the portal gave it.
    signed_out = logout_finished(request.args.get("state"))
    return render_template("home/index.html", signed_out=signed_out)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness only: checks nothing remote, so the apps can start in any order."""
    return {"status": "ok"}
