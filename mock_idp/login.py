"""Sign-in and sign-out, and the IdP session every protocol front-end relies on.

The IdP session is the signed Flask session (cookie `idp_session`): user id + auth_time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import PasswordField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from mock_idp import throttle
from mock_idp import users
from mock_idp.models import User

USER_KEY = "uid"
AUTH_TIME_KEY = "auth_time"
NEXT_KEY = "login_next"
FAILED_LOGIN = "Incorrect email or password."
# Says the same whether or not the account exists: locks are keyed by the email as typed.
LOCKED_OUT = "Too many failed sign-in attempts. Please wait a few minutes and try again."


@dataclass(frozen=True)
class SignedIn:
    """A live IdP session: who, and when they last proved it (epoch seconds, float)."""

    user: User
    auth_time: float


class LoginForm(FlaskForm):
    """The sign-in form (CSRF-protected by Flask-WTF)."""

    email = StringField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Sign in")


def current_session() -> SignedIn | None:
    """The signed-in user of this browser, if the user still exists."""
    user_id = session.get(USER_KEY)
    auth_time = session.get(AUTH_TIME_KEY)
    user = users.get(user_id) if user_id else None
    if user is None or not isinstance(auth_time, int | float):
        return None
    return SignedIn(user, float(auth_time))


def require_login(next_url: str, purpose: str) -> Response:
    """Send the browser to the login page; after sign-in it goes on to `next_url`."""
    session[NEXT_KEY] = {"url": next_url, "purpose": purpose}
    return redirect(url_for("login.login"))


def start_session(user: User) -> None:
    """Record a fresh authentication and rotate the CSRF token."""
    session.pop("csrf_token", None)
    session[USER_KEY] = user.id
    # Sub-second precision tells a sign-in that happened for a pending request from an older one.
    session[AUTH_TIME_KEY] = time.time()


def end_session() -> None:
    """Forget the user and anything parked in the session."""
    session.clear()


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
        throttle.record_success(email)
    return user


@bp.post("/logout")
def logout() -> Response:
    """End the IdP session."""
    end_session()
    return redirect(url_for("home.index"), 303)


@bp.errorhandler(CSRFError)
def _csrf_failed(_err: CSRFError) -> tuple[str, int]:
    # Keep what the user typed (not the password) and let them try again with a fresh token.
    form = LoginForm(formdata=None, email=request.form.get("email", ""))
    return _render(form, "Your sign-in form expired. Please try again."), 400


def _render(form: LoginForm, error: str | None) -> str:
    next_step = session.get(NEXT_KEY)
    return render_template(
        "login/login.html",
        form=form,
        error=error,
        signed_in=current_session(),
        purpose=next_step["purpose"] if next_step else None,
    )
