"""Self-service registration and email verification.

Registering an address that already has an account answers exactly like a new registration and
mails the owner instead, so the form cannot be used to find out who has an account. Past the mail
limits (throttle.py) it answers the same again but creates and sends nothing. New accounts
start unverified; they may sign in, and their tokens say `email_verified: false` until the emailed
link is followed.
"""

from __future__ import annotations

import time

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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError
from wtforms import EmailField
from wtforms import PasswordField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import Regexp
from wtforms.validators import ValidationError

from mock_idp import email_links
from mock_idp import outbox
from mock_idp import password_policy
from mock_idp import throttle
from mock_idp import users
from mock_idp.email_links import Purpose
from mock_idp.models import User
from mock_idp.models import db

SENT_TO_KEY = "registration_sent_to"
# Deliberately loose: the emailed link is the real check that the address works.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class PasswordRules:
    """WTForms validator applying the password policy against the form's email field."""

    def __call__(self, form: FlaskForm, field: PasswordField) -> None:
        email_field = getattr(form, "email", None)
        email = email_field.data if email_field is not None else form.account_email
        found = password_policy.problems(
            field.data or "", email or "", current_app.config["PASSWORD_MIN_LENGTH"]
        )
        if found:
            raise ValidationError(found[0])


class RegistrationForm(FlaskForm):
    """Create an account (CSRF-protected)."""

    given_name = StringField(
        "First name", filters=[_strip], validators=[DataRequired(), Length(max=100)]
    )
    family_name = StringField(
        "Last name", filters=[_strip], validators=[DataRequired(), Length(max=100)]
    )
    email = EmailField(
        "Email",
        filters=[_strip],
        validators=[
            DataRequired(),
            Length(max=254),
            Regexp(EMAIL_PATTERN, message="Enter an email address like name@example.com."),
        ],
    )
    company = StringField(
        "Company (optional)", filters=[_strip], validators=[Optional(), Length(max=200)]
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), PasswordRules()],
    )
    confirm_password = PasswordField(
        "Confirm password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )
    submit = SubmitField("Create account")


def register(
    *,
    email: str,
    password: str,
    given_name: str,
    family_name: str,
    company: str | None,
    address: str | None,
) -> None:
    """Create an unverified account and mail its verification link, or mail the existing owner."""
    now = int(time.time())
    limits = throttle.MailLimits.from_config(current_app.config)
    if not throttle.allow_account_mail("registration", email, address, limits, now):
        users.passwords().verify_dummy(password)  # the same work as an answered registration
        return
    existing = users.find_by_email(email)
    if existing is None:
        try:
            user = users.create_user(
                email=email,
                password=password,
                given_name=given_name,
                family_name=family_name,
                company=company or None,
            )
            user.email_verified = False
            db.session.flush()
            _send_verification(user, now)
            db.session.commit()
            return
        except IntegrityError:  # a concurrent registration took the address first
            db.session.rollback()
            existing = users.find_by_email(email)
            if existing is None:
                raise
    else:
        # Spend what hashing a new password costs, so timing does not tell the two cases apart.
        users.passwords().verify_dummy(password)
    _send_already_registered(existing, now)
    db.session.commit()


def verify(token: str) -> User | None:
    """Follow a verification link: mark the address verified; None if the link is not usable."""
    user_id = email_links.consume(token, Purpose.VERIFY_EMAIL, int(time.time()))
    user = users.get(user_id) if user_id else None
    if user is None:
        db.session.rollback()
        return None
    user.email_verified = True
    db.session.commit()
    return user


def _external(endpoint: str, **values: str) -> str:
    # Links are built from config, never from the request's Host (a forged Host would otherwise
    # send the victim's token to the attacker's server).
    return current_app.config["IDP_URL"] + url_for(endpoint, **values)


def _send_verification(user: User, now: int) -> None:
    lifetime = int(current_app.config["EMAIL_VERIFICATION_LINK_LIFETIME"])
    token = email_links.issue(user.id, Purpose.VERIFY_EMAIL, lifetime, now)
    body = render_template(
        "mail/verify_email.txt",
        user=user,
        link=_external("registration.verify_email", token=token),
        hours=lifetime // 3600,
    )
    outbox.send(user.email, "Verify your email address", body)


def _send_already_registered(user: User, now: int) -> None:
    verify_link = None
    if not user.email_verified:
        lifetime = int(current_app.config["EMAIL_VERIFICATION_LINK_LIFETIME"])
        token = email_links.issue(user.id, Purpose.VERIFY_EMAIL, lifetime, now)
        verify_link = _external("registration.verify_email", token=token)
    body = render_template(
        "mail/already_registered.txt",
        user=user,
        login_link=_external("login.login"),
        forgot_link=_external("password_reset.forgot_password"),
        verify_link=verify_link,
    )
    outbox.send(user.email, "Someone tried to create an account with your email", body)


bp = Blueprint("registration", __name__)


@bp.after_request
def _no_referrer(response: Response) -> Response:
    # Verification URLs carry a token: never leak it to another site in a Referer header.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/register", methods=["GET", "POST"])
def register_page() -> Response | str:
    """Show the registration form; on success say to check the mailbox (same answer for all)."""
    form = RegistrationForm()
    if form.validate_on_submit():
        register(
            email=form.email.data,
            password=form.password.data,
            given_name=form.given_name.data,
            family_name=form.family_name.data,
            company=form.company.data,
            address=request.remote_addr,
        )
        session[SENT_TO_KEY] = users.normalize_email(form.email.data)
        return redirect(url_for("registration.check_email"), 303)
    return render_template("registration/register.html", form=form, error=None)


@bp.get("/register/check-email")
def check_email() -> str:
    """Tell the user where the verification link went."""
    return render_template("registration/check_email.html", email=session.get(SENT_TO_KEY))


@bp.get("/verify-email/<token>")
def verify_email(token: str) -> tuple[str, int]:
    """Follow the emailed link once."""
    user = verify(token)
    if user is None:
        return render_template("registration/link_invalid.html"), 400
    return render_template("registration/verified.html", user=user), 200


def _typed_form() -> RegistrationForm:
    """The registration form with what the user typed, never the passwords."""
    kept = {name: request.form.get(name, "") for name in ("given_name", "family_name", "email")}
    return RegistrationForm(formdata=None, company=request.form.get("company", ""), **kept)


@bp.errorhandler(CSRFError)
def _csrf_failed(_err: CSRFError) -> tuple[str, int]:
    error = "Your registration form expired. Please try again."
    return render_template("registration/register.html", form=_typed_form(), error=error), 400


@bp.errorhandler(OperationalError)
def _database_unavailable(exc: OperationalError) -> tuple[str, int]:
    # The form again, as typed, rather than the app's bare 503 page (unavailable.py).
    current_app.logger.error("database unavailable: %s", exc.orig or exc)
    error = "Registration is temporarily unavailable (nothing you did). Please try again soon."
    return render_template("registration/register.html", form=_typed_form(), error=error), 503
