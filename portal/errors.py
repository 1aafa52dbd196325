"""Typed errors and the one friendly HTML page they all render as (never a bare 500).

Each page says what happened and what to do, in words for speakers; the protocol's error code
and description go in a folded "For developers" section.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import make_response
from flask import render_template
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import PendingRollbackError
from werkzeug.exceptions import HTTPException

from .htmx import is_htmx_request
from .salesforce import ExchangeError
from .salesforce import SalesforceApiError
from .salesforce import SalesforceUnavailable


class PortalError(Exception):
    """An error the speaker should see explained; subclasses set status, title and advice."""

    status = 500
    title = "Something went wrong"
    message = "The portal could not finish what you asked."
    advice = "Please try again in a moment."

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class LoginFailed(PortalError):
    """The IdP refused the login, or its answer did not validate (state, PKCE, ID token)."""

    status = 400
    title = "Login failed"
    message = "The identity provider's answer could not be accepted, so you are not logged in."
    advice = "Log in again. If it keeps failing, tell the conference team what you see below."


class EmailNotVerified(PortalError):
    """The IdP says the speaker's address is not confirmed yet: no login, so no Salesforce user."""

    status = 403
    title = "Confirm your email address first"
    message = "The identity provider says your email address is not confirmed yet."
    advice = (
        "Open the link in the confirmation email the identity provider sent you, then log in again."
    )


class IdpUnavailable(PortalError):
    """The IdP could not be reached."""

    status = 503
    title = "The login service is unavailable"
    message = "The conference's identity provider could not be reached."
    advice = "Please try again in a few minutes."


class NotASpeaker(PortalError):
    """The Salesforce user behind this login has no contact, so it can have no cases."""

    status = 403
    title = "No speaker record in Salesforce"
    message = "Your Salesforce user is not linked to a speaker record, so it can hold no cases."
    advice = "Ask the conference team to link your Salesforce user to your contact."


class CaseNotFound(PortalError):
    """No case of this speaker has that id (malformed, another speaker's, or deleted)."""

    status = 404
    title = "Case not found"
    message = "There is no case of yours at this address."
    advice = "Go back to your support cases and open the case from the list."


class LoginExpired(Exception):
    """The login can get no fresh IdP token (no refresh token, or refused): log in again."""


@dataclass(frozen=True)
class Problem:
    """What a page or a form says about an error: for speakers, and for developers."""

    status: int
    title: str
    message: str
    advice: str
    code: str | None = None
    detail: str | None = None


# Refusals that no retry fixes, only the org's admin: (title, message, advice, status).
ORG_PROBLEMS = {
    # Speakers' profile lacks API Enabled (off on external profiles since Summer '19).
    "API_DISABLED_FOR_ORG": (
        "Salesforce is not set up for speakers yet",
        "Your Salesforce account is not allowed to use the API, so the portal cannot reach your"
        " cases.",
        "The conference team has to fix this in Salesforce (API Enabled on the speakers' profile"
        " or a permission set); please tell them.",
        502,
    ),
    "REQUEST_LIMIT_EXCEEDED": (
        "Salesforce is busy",
        "Salesforce's daily allowance of requests for the conference is used up.",
        "Please try again later; the allowance renews every day.",
        503,
    ),
}


def salesforce_unavailable(code: str, detail: str) -> Problem:
    """Salesforce cannot be reached, or says it cannot serve now: try again later."""
    return Problem(
        503,
        "Salesforce is unavailable",
        "Salesforce, where your support cases live, could not be reached.",
        "Please try again in a few minutes.",
        code,
        detail,
    )


def problem_for(exc: Exception) -> Problem | None:
    """The words for an error the portal knows, or None for one it does not."""
    if isinstance(exc, PortalError):
        return Problem(exc.status, exc.title, exc.message, exc.advice, exc.code, exc.description)
    if isinstance(exc, SalesforceUnavailable):
        return salesforce_unavailable("unavailable", str(exc))
    # Salesforce answered, but that it cannot serve now (maintenance, its database down).
    if isinstance(exc, ExchangeError) and exc.status == 503:
        return salesforce_unavailable(exc.error, exc.description)
    if isinstance(exc, SalesforceApiError) and exc.status == 503:
        return salesforce_unavailable(exc.error_code, exc.message)
    if isinstance(exc, ExchangeError):
        return Problem(
            502,
            "Salesforce refused the sign-in",
            "Salesforce did not accept your login, so the portal cannot reach your cases.",
            "Try again; if it keeps failing, log out and in again, or tell the conference team.",
            exc.error,
            exc.description,
        )
    if isinstance(exc, SalesforceApiError) and exc.error_code in ORG_PROBLEMS:
        title, message, advice, status = ORG_PROBLEMS[exc.error_code]
        return Problem(status, title, message, advice, exc.error_code, exc.message)
    if isinstance(exc, SalesforceApiError):
        return Problem(
            502,
            "Salesforce returned an error",
            "Salesforce could not do what you asked.",
            "Please try again; if it keeps failing, tell the conference team what you see below.",
            exc.error_code,
            exc.message,
        )
    if isinstance(exc, CSRFError):
        return Problem(
            400,
            "The form had expired",
            "The page was open too long, or you logged in again meanwhile, so the form expired.",
            "Reload the page and send the form again.",
            "csrf",
            exc.description,
        )
    return None


def render_problem(problem: Problem) -> Response:
    """The error page; for htmx, a fragment retargeted to replace the main content."""
    if is_htmx_request():
        response = make_response(render_template("errors/_error.html", problem=problem))
        response.status_code = problem.status
        response.headers["HX-Retarget"] = "#main"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return make_response(render_template("errors/error.html", problem=problem), problem.status)


# The portal's own database cannot be reached (a restart, an outage: PEP 249's OperationalError).
DATABASE_UNAVAILABLE = Problem(
    503,
    "The portal is unavailable",
    "The portal cannot reach its database just now. Nothing you did caused this.",
    "Please try again in a few minutes; you stay logged in.",
    "database_unavailable",
    "The portal's database could not be reached.",
)


# What a database that went away raises: PEP 249's OperationalError (refused, cut mid-query), and
# SQLAlchemy's refusal to go on in a transaction whose connection it lost.
DATABASE_GONE = (OperationalError, PendingRollbackError)


def init_app(app: Flask) -> None:
    for kind in (PortalError, SalesforceUnavailable, ExchangeError, SalesforceApiError, CSRFError):
        app.register_error_handler(kind, _known_error)
    app.register_error_handler(HTTPException, _http_error)
    for kind in DATABASE_GONE:
        app.register_error_handler(kind, _database_unavailable)


def _known_error(exc: Exception) -> Response:
    problem = problem_for(exc)
    assert problem is not None  # registered only for the kinds problem_for knows
    return render_problem(problem)


def database_down(exc: Exception) -> None:
    """Log the outage and draw this request's page as for a visitor: it must not read the login
    from the database again, while the login itself (the cookie) is kept for when it is back."""
    current_app.logger.error("database unavailable: %s", getattr(exc, "orig", None) or exc)
    g._login_user = AnonymousUserMixin()  # Flask-Login's user of this request


def _database_unavailable(exc: Exception) -> Response:
    database_down(exc)
    return render_problem(DATABASE_UNAVAILABLE)


def _http_error(exc: HTTPException) -> Response:
    original = getattr(exc, "original_exception", None)
    if isinstance(original, DATABASE_GONE):  # raised while another error page was drawn
        return _database_unavailable(original)
    status = exc.code or 500
    if status == 404:
        message, advice = "There is no page at this address.", "Check the address, or go home."
    else:
        message, advice = (
            exc.description or "The request could not be served.",
            "Go back and try again.",
        )
    return render_problem(Problem(status, exc.name, message, advice, str(status), exc.description))
