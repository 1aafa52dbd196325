"""Forgotten passwords: a single-use, short-lived link by email, then a new password.

The request form answers the same whether or not the address has an account, and whether or not
the request was over the mail limits (throttle.py) and so sent nothing. Following a link
and setting a password also proves the address (it becomes verified), lifts a sign-in lock on the
account, uses up every other reset link the account still had, and ends every IdP session of the
account (a stolen cookie dies with the old password).
"""

from __future__ import annotations

import time

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import EmailField
from wtforms import PasswordField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import Length

from mock_idp import email_links
from mock_idp import idp_sessions
from mock_idp import outbox
from mock_idp import throttle
from mock_idp import users
from mock_idp.email_links import Purpose
from mock_idp.models import User
from mock_idp.models import db
from mock_idp.registration import PasswordRules

SENT_TO_KEY = "reset_sent_to"
PASSWORD_CHANGED = "Your password has been changed. Sign in with your new password."


class ForgotPasswordForm(FlaskForm):
    """Ask for a reset link (CSRF-protected)."""

    email = EmailField(
        "Email",
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[DataRequired(), Length(max=254)],
    )
    submit = SubmitField("Send reset link")


class ResetPasswordForm(FlaskForm):
    """Choose a new password (CSRF-protected); `account_email` feeds the policy."""

    password = PasswordField("New password", validators=[DataRequired(), PasswordRules()])
    confirm_password = PasswordField(
        "Confirm new password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )
    submit = SubmitField("Change password")

    def __init__(self, account_email: str, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.account_email = account_email


def request_reset(email: str, address: str | None) -> None:
    """Mail a reset link if the address has an account, within the mail limits; else nothing."""
    now = int(time.time())
    limits = throttle.MailLimits.from_config(current_app.config)
    if not throttle.allow_account_mail("forgot-password", email, address, limits, now):
        return
    user = users.find_by_email(email)
    if user is None:
        return
    lifetime = int(current_app.config["PASSWORD_RESET_LINK_LIFETIME"])
    token = email_links.issue(user.id, Purpose.RESET_PASSWORD, lifetime, now)
    link = current_app.config["IDP_URL"] + url_for("password_reset.reset_password", token=token)
    body = render_template("mail/reset_password.txt", user=user, link=link, minutes=lifetime // 60)
    outbox.send(user.email, "Reset your password", body)
    db.session.commit()


def reset(token: str, new_password: str) -> User | None:
    """Use the link once to set `new_password`; None if the link is not (or no longer) usable."""
    now = int(time.time())
    user_id = email_links.consume(token, Purpose.RESET_PASSWORD, now)
    user = users.get(user_id) if user_id else None
    if user is None:
        db.session.rollback()
        return None
    user.password_hash = users.passwords().hash(new_password)
    user.email_verified = True  # following the emailed link proved the address
    email_links.revoke_outstanding(user.id, Purpose.RESET_PASSWORD, now)
    idp_sessions.end_all_of(user.id, now)  # a copied cookie must not outlive the old password
    throttle.unlock_account(user.email)
    body = render_template(
        "mail/password_changed.txt",
        user=user,
        forgot_link=current_app.config["IDP_URL"] + url_for("password_reset.forgot_password"),
    )
    outbox.send(user.email, "Your password was changed", body)
    db.session.commit()
    return user


bp = Blueprint("password_reset", __name__)


@bp.after_request
def _no_referrer(response: Response) -> Response:
    # Reset URLs carry a token: never leak it to another site in a Referer header.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> Response | str:
    """Ask for the address; answer the same whether or not it has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_reset(form.email.data, request.remote_addr)
        session[SENT_TO_KEY] = users.normalize_email(form.email.data)
        return redirect(url_for("password_reset.check_email"), 303)
    return render_template("password_reset/forgot.html", form=form, error=None)


@bp.get("/forgot-password/check-email")
def check_email() -> str:
    """Say where a link went, if there is an account for the address."""
    return render_template("password_reset/check_email.html", email=session.get(SENT_TO_KEY))


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    """Show the new-password form for a usable link; on success go to sign-in."""
    link = email_links.find_usable(token, Purpose.RESET_PASSWORD, int(time.time()))
    user = users.get(link.user_id) if link else None
    if user is None:
        return render_template("password_reset/link_invalid.html"), 400
    form = ResetPasswordForm(account_email=user.email)
    if form.validate_on_submit():
        if reset(token, form.password.data) is None:  # used or expired since the form was shown
            return render_template("password_reset/link_invalid.html"), 400
        flash(PASSWORD_CHANGED)
        return redirect(url_for("login.login"), 303)
    return render_template("password_reset/reset.html", form=form, token=token, error=None)


@bp.errorhandler(CSRFError)
def _csrf_failed(_err: CSRFError) -> tuple[str, int]:
    error = "This form expired. Please try again."
    token = (request.view_args or {}).get("token")
    if token is None:
        form = ForgotPasswordForm(formdata=None, email=request.form.get("email", ""))
        return render_template("password_reset/forgot.html", form=form, error=error), 400
    form = ResetPasswordForm(account_email="", formdata=None)
    return render_template("password_reset/reset.html", form=form, token=token, error=error), 400
