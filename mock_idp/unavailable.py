"""A database that cannot be reached (a restart, an outage): 503 in the endpoint's dialect.

PEP 249's OperationalError covers a refused connection and one cut mid-query. OAuth endpoints
answer ``temporarily_unavailable`` (RFC 6749 §4.1.2.1) as JSON, pages say so in words; either way
never a 500, and the detail goes only to the log.
"""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import current_app
from flask import render_template
from flask import request
from sqlalchemy.exc import OperationalError

from mock_idp.oidc import errors

# Blueprints that answer OAuth clients (dynamic registration is a demo control of its own).
JSON_BLUEPRINTS = frozenset({"oidc", "client_registration"})
# Endpoints of those that browsers visit: they get the page, not JSON.
BROWSER_ENDPOINTS = frozenset({"oidc.logout"})


def render_unavailable(exc: OperationalError) -> Response | tuple[str, int]:
    """503: JSON for the OAuth endpoints that answer clients, a page for everything else."""
    current_app.logger.error("database unavailable: %s", exc.orig or exc)
    if request.blueprint in JSON_BLUEPRINTS and request.endpoint not in BROWSER_ENDPOINTS:
        return errors.render_json(errors.TemporarilyUnavailableError("try again later"))
    return render_template("errors/unavailable.html"), 503


def init_app(app: Flask) -> None:
    app.register_error_handler(OperationalError, render_unavailable)
