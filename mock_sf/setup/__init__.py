"""The Setup console (``/setup``): connected apps, handlers, users, cases, the exchange log and
the security scorecard, for org admins."""

from __future__ import annotations

from flask import Flask

from mock_sf.setup import csrf
from mock_sf.setup.scorecard import DEFAULT_USER
from mock_sf.setup.scorecard import ForgeClient
from mock_sf.setup.views import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    """CSRF protection for browser forms, and the forge client the scorecard uses."""
    app.config.setdefault("SCORECARD_USER", DEFAULT_USER)
    csrf.init_app(app)
    app.extensions["mock_sf.forge"] = ForgeClient(
        app.config["IDP_URL"], timeout=app.config["HTTP_TIMEOUT_SECONDS"]
    )
