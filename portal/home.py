"""The landing page and the health check."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    return render_template("home/index.html")


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness only: checks nothing remote, so the apps can start in any order."""
    return {"status": "ok"}
