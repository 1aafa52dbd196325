"""Browser-facing pages (home, health) and the app-wide HTTP error pages, per dialect by path."""

from __future__ import annotations

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import render_template
from flask import request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import ServiceUnavailable

from mock_sf.oauth.errors import OAuthError
from mock_sf.oauth.errors import TemporarilyUnavailable
from mock_sf.oauth.errors import render_oauth_error
from mock_sf.rest import errors as rest_errors

bp = Blueprint("web", __name__)


@bp.get("/")
def home() -> str:
    """What this is."""
    return render_template("web/home.html", config=current_app.config)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness; checks nothing remote."""
    return jsonify(status="ok")


def render_http_error(exc: HTTPException) -> object:
    """Routing and server errors in the dialect of the path: REST array, OAuth JSON, or HTML."""
    original = getattr(exc, "original_exception", None)
    if isinstance(original, OperationalError):  # raised after the view (a hook's rollback)
        return render_database_unavailable(original)
    code = exc.code or 500
    # RFC 9110 §15.5.6: a 405 names the methods the resource allows, in every dialect.
    allow = {"Allow": exc.get_headers()[-1][1]} if isinstance(exc, MethodNotAllowed) else {}
    path = api_path(request.path, current_app.config.get("SITE_PATH_PREFIX") or "")
    if path.startswith("/services/data"):
        error: rest_errors.RestError
        if isinstance(exc, MethodNotAllowed):
            allowed = ",".join(sorted(set(exc.valid_methods or ()) - {"OPTIONS"}))
            error = rest_errors.MethodNotAllowed(
                f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"
            )
        elif code == 404:
            error = rest_errors.NotFound()
        elif code == 503:
            error = rest_errors.ServerUnavailable()
        elif code >= 500:
            error = rest_errors.UnknownException()
        else:
            error = rest_errors.RestError(exc.description)
            error.status_code = code
        response = rest_errors.render_rest_error(error)
        response.headers.update(allow)
        return response
    if path.startswith("/services/oauth2"):
        if code == 503:
            return render_oauth_error(TemporarilyUnavailable())
        description = (
            "must use HTTP POST" if isinstance(exc, MethodNotAllowed) else exc.name.lower()
        )
        oauth_error = OAuthError(description)
        oauth_error.status_code = code
        oauth_error.headers = allow
        return render_oauth_error(oauth_error)
    return render_template("web/error.html", error=exc), code, allow


def api_path(path: str, site_prefix: str) -> str:
    """The path without the Experience Cloud site prefix, which serves the same APIs."""
    prefix = "/" + site_prefix.strip("/")
    if prefix != "/" and path.startswith(prefix + "/services/"):
        return path[len(prefix) :]
    return path


def render_database_unavailable(exc: OperationalError) -> object:
    """The database cannot be reached (a restart, an outage): 503 in the path's dialect, not a
    500, and the detail only in the log."""
    current_app.logger.error("database unavailable: %s", exc.orig or exc)
    g.database_unavailable = True  # what runs after the view must not query it again
    return render_http_error(ServiceUnavailable("The database is unavailable. Try again later."))


def register_error_pages(app: Flask) -> None:
    """One handler for every HTTP error the blueprints' own renderers did not take, and one for
    a database that cannot be reached (PEP 249's OperationalError: disconnects, refusals)."""
    app.register_error_handler(HTTPException, render_http_error)
    app.register_error_handler(OperationalError, render_database_unavailable)
