"""Sign-in and sign-out, and the IdP session every protocol front-end relies on.

The IdP session is a database row (idp_sessions.py); the signed Flask session (cookie
`idp_session`) holds only its id, so signing out or a password reset ends every copy of the cookie.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from wtforms import PasswordField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from mock_idp import idp_sessions
from mock_idp import throttle
from mock_idp import users
from mock_idp.idp_sessions import IdpSession
from mock_idp.models import User
from mock_idp.models import db

SESSION_KEY = "sid"  # the IdP session row's id
NEXT_KEY = "login_next"
FAILED_LOGIN = "Incorrect email or password."
# Says the same whether or not the account exists: locks are keyed by the email as typed.
LOCKED_OUT = "Too many failed sign-in attempts. Please wait a few minutes and try again."
UNAVAILABLE = (
    "Sign-in is temporarily unavailable (nothing you did). Please try again in a few minutes."
)


@dataclass(frozen=True)
class SignedIn:
    """A live IdP session: who, and its row (when they last proved it, its SAML session)."""

    user: User
    record: IdpSession

    @property
    def auth_time(self) -> float:
        """When the user last proved it (epoch seconds, float)."""
        return self.record.auth_time


class LoginForm(FlaskForm):
    """The sign-in form (CSRF-protected by Flask-WTF)."""

    email = StringField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Sign in")


def current_session() -> SignedIn | None:
    """The signed-in user of this browser: a live session row whose user still exists.

    Looked up once per request (one primary-key SELECT); a dead id leaves the cookie.
    """
    if "idp_signed_in" in g:
        return g.idp_signed_in
    signed_in = None
    session_id = session.get(SESSION_KEY)
    if isinstance(session_id, str):
        found = idp_sessions.live(session_id, int(time.time()), _lifetime())
        if found is None:
            session.pop(SESSION_KEY)
        else:
            signed_in = SignedIn(found[1], found[0])
    g.idp_signed_in = signed_in
    return signed_in


def require_login(next_url: str, purpose: str) -> Response:
    """Send the browser to the login page; after sign-in it goes on to `next_url`."""
    session[NEXT_KEY] = {"url": next_url, "purpose": purpose}
    return redirect(url_for("login.login"))


def start_session(user: User) -> None:
    """Record a fresh authentication (ending this browser's previous one), rotate the CSRF
    token, and commit."""
    # Sub-second precision tells a sign-in that happened for a pending request from an older one.
    now = time.time()
    session.pop("csrf_token", None)
    previous = session.get(SESSION_KEY)
    if isinstance(previous, str):
        idp_sessions.end(previous, int(now))
    record = idp_sessions.open_session(user.id, now, _lifetime())
    db.session.commit()
    session[SESSION_KEY] = record.id
    g.idp_signed_in = SignedIn(user, record)


def end_session() -> None:
    """End this browser's IdP session (every copy of its cookie) and forget what it parked."""
    session_id = session.get(SESSION_KEY)
    if isinstance(session_id, str):
        idp_sessions.end(session_id, int(time.time()))
        db.session.commit()
    session.clear()
    g.idp_signed_in = None


def _lifetime() -> int:
    return int(current_app.config["SESSION_LIFETIME"])


bp = Blueprint("login", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int, dict[str, str]]:
    """Show the sign-in form; on success continue where the user was going."""
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        email, password = form.email.data or "", form.password.data or ""
        outcome = attempt(email, password, request.remote_addr)
        if isinstance(outcome, int):
            return _render(form, LOCKED_OUT), 429, {"Retry-After": str(outcome)}
        if outcome is not None:
            start_session(outcome)
            next_step = session.pop(NEXT_KEY, None)
            return redirect(next_step["url"] if next_step else url_for("login.login"), 303)
        failed = True
    return _render(form, FAILED_LOGIN if failed else None)


def attempt(email: str, password: str, address: str | None) -> User | int | None:
    """Check a sign-in under the throttle: the user, None if wrong, or seconds left of a lock."""
    limits = throttle.Limits.from_config(current_app.config)
    now = int(time.time())
    locked_for = throttle.retry_after(email, address, limits, now)
    if locked_for is not None:
        return locked_for  # the password is not even checked while locked
    user = users.authenticate(email, password)
    if user is None:
        throttle.record_failure(email, address, limits, now)
    else:
        throttle.record_success(email, address)
    return user


@bp.post("/logout")
def logout() -> Response:
    """End the IdP session."""
    end_session()
    return redirect(url_for("home.index"), 303)


def _typed_form() -> LoginForm:
    """The sign-in form with what the user typed, never the password, for another try."""
    return LoginForm(formdata=None, email=request.form.get("email", ""))


@bp.errorhandler(CSRFError)
def _csrf_failed(_err: CSRFError) -> tuple[str, int]:
    return _render(_typed_form(), "Your sign-in form expired. Please try again."), 400


@bp.errorhandler(OperationalError)
def _database_unavailable(exc: OperationalError) -> tuple[str, int]:
    # The form again, as typed, rather than the app's bare 503 page (unavailable.py).
    current_app.logger.error("database unavailable: %s", exc.orig or exc)
    g.idp_signed_in = None  # the session row cannot be read either
    return _render(_typed_form(), UNAVAILABLE), 503


def _render(form: LoginForm, error: str | None) -> str:
    next_step = session.get(NEXT_KEY)
    return render_template(
        "login/login.html",
        form=form,
        error=error,
        signed_in=current_session(),
        purpose=next_step["purpose"] if next_step else None,
    )
