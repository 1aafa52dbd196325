"""Typed errors and the one friendly HTML page they all render as (never a bare 500)."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import make_response
from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .htmx import is_htmx_request
from .salesforce import ExchangeError
from .salesforce import SalesforceApiError
from .salesforce import SalesforceUnavailable


class PortalError(Exception):
    """An error the speaker should see explained; subclasses set status and title."""

    status = 500
    title = "Something went wrong"

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class LoginFailed(PortalError):
    """The IdP refused the login, or its answer did not validate (state, PKCE, ID token)."""

    status = 400
    title = "Login failed"


class IdpUnavailable(PortalError):
    """The IdP could not be reached."""

    status = 503
    title = "The login service is unavailable"


class NotASpeaker(PortalError):
    """The Salesforce user behind this login has no contact, so it can have no cases."""

    status = 403
    title = "No speaker record in Salesforce"


def render_error(status: int, title: str, description: str, code: str | None = None) -> Response:
    """The error page; for htmx, a fragment retargeted to replace the main content."""
    context = {"status": status, "title": title, "description": description, "code": code}
    if is_htmx_request():
        response = make_response(render_template("errors/_error.html", **context), status)
        response.headers["HX-Retarget"] = "#main"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return make_response(render_template("errors/error.html", **context), status)


def init_app(app: Flask) -> None:
    app.register_error_handler(PortalError, _portal_error)
    app.register_error_handler(ExchangeError, _exchange_error)
    app.register_error_handler(SalesforceApiError, _salesforce_api_error)
    app.register_error_handler(SalesforceUnavailable, _salesforce_unavailable)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)


def _portal_error(exc: PortalError) -> Response:
    return render_error(exc.status, exc.title, exc.description, exc.code)


def _exchange_error(exc: ExchangeError) -> Response:
    return render_error(502, "Salesforce refused the sign-in", exc.description, exc.error)


def _salesforce_api_error(exc: SalesforceApiError) -> Response:
    return render_error(502, "Salesforce returned an error", exc.message, exc.error_code)


def _salesforce_unavailable(_exc: SalesforceUnavailable) -> Response:
    description = "Salesforce could not be reached. Please try again in a few minutes."
    return render_error(503, "Salesforce is unavailable", description, "unavailable")


def _csrf_error(exc: CSRFError) -> Response:
    description = f"{exc.description} Go back, reload the page and send the form again."
    return render_error(400, "The form could not be accepted", description, "csrf")


def _http_error(exc: HTTPException) -> Response:
    return render_error(exc.code or 500, exc.name, exc.description or "")
