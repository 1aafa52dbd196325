"""The speaker's Support page: their Salesforce Cases, listed and created (htmx-enhanced)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import TypeVar

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import flash
from flask import get_flashed_messages
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import AnyOf
from wtforms.validators import DataRequired
from wtforms.validators import Length

from . import refresh
from .errors import NotASpeaker
from .htmx import is_htmx_request
from .models import LoginSession
from .models import db
from .salesforce import SalesforceApi
from .salesforce import SalesforceApiError
from .salesforce import SalesforceClient
from .salesforce import SessionInvalid

bp = Blueprint("cases", __name__)

T = TypeVar("T")
PRIORITIES = ["High", "Medium", "Low"]
SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


class CaseForm(FlaskForm):
    """A new support case, as the speaker types it."""

    subject = StringField(
        "Subject",
        filters=[lambda value: value.strip() if value else value],
        validators=[
            DataRequired("Enter a subject."),
            Length(max=255, message="Keep the subject to 255 characters or fewer."),
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[Length(max=32000, message="Keep the description to 32,000 characters.")],
    )
    priority = SelectField(
        "Priority",
        choices=PRIORITIES,
        default="Medium",
        validate_choice=False,  # AnyOf says it in words the speaker understands
        validators=[AnyOf(PRIORITIES, message="Choose a priority: High, Medium or Low.")],
    )


class SpeakerCases:
    """The signed-in speaker's Cases, through the Salesforce session cached on their login."""

    def __init__(self, login: LoginSession, client: SalesforceClient) -> None:
        self.login = login
        self.client = client

    def list(self) -> list[dict[str, Any]]:
        """The speaker's cases, newest first."""
        return self._call(lambda api, contact_id: api.query(case_query(contact_id)))

    def create(self, subject: str, description: str, priority: str) -> str:
        """Open a case on the speaker's contact and return its case number."""
        case = {"Subject": subject, "Description": description, "Priority": priority}
        case_id = self._call(
            lambda api, contact_id: api.create(
                "Case", {**case, "Origin": "Web", "ContactId": contact_id}
            )
        )
        return self._call(lambda api, _: api.get("Case", case_id, ["CaseNumber"])["CaseNumber"])

    def _call(self, operation: Callable[[SalesforceApi, str], T]) -> T:
        api, contact_id = self._session()
        try:
            return operation(api, contact_id)
        except SessionInvalid:
            # Salesforce ended the session (expired, revoked): renew it, once.
            api, contact_id = self._session(stale=api.access_token)
            return operation(api, contact_id)

    def _session(self, stale: str | None = None) -> tuple[SalesforceApi, str]:
        """The cached Salesforce session and contact id, renewed when missing or `stale`."""
        login = self.login
        if login.sf_access_token in (None, stale):
            with refresh.one_at_a_time(login):
                # Another request of this login may have renewed it while this one waited.
                if login.sf_access_token in (None, stale):
                    self._exchange()
        return self.client.api(login.sf_instance_url, login.sf_access_token), login.sf_contact_id

    def _exchange(self) -> None:
        """Exchange an unspent IdP access token (refreshed if need be) for a Salesforce session."""
        login = self.login
        if login.idp_access_token_sent or login.idp_token_expired():
            refresh.refresh_idp_tokens(login)
        # Sent is spent: Salesforce may use up the token's jti even if its answer never arrives.
        login.idp_access_token_sent = True
        db.session.commit()
        token = self.client.exchange(login.idp_access_token)
        api = self.client.api(token.instance_url, token.access_token)
        user = api.get("User", token.user_id, ["Id", "ContactId", "AccountId", "Name"])
        if not user.get("ContactId"):
            raise NotASpeaker("no_contact", "Your Salesforce user is not linked to a contact.")
        login.cache_salesforce(token, user["ContactId"])
        db.session.commit()


def case_query(contact_id: str) -> str:
    """The SOQL for a contact's cases; the id is checked, since it is pasted into the query."""
    if not SALESFORCE_ID.fullmatch(contact_id):
        raise ValueError(f"not a Salesforce id: {contact_id!r}")
    return (
        "SELECT Id, CaseNumber, Subject, Status, Priority, CreatedDate FROM Case "
        f"WHERE ContactId = '{contact_id}' ORDER BY CreatedDate DESC"
    )


def opened(created_date: str) -> str:
    """Salesforce's `2024-05-01T12:34:56.000+0000` as `2024-05-01 12:34 UTC`."""
    try:
        moment = datetime.strptime(created_date, "%Y-%m-%dT%H:%M:%S.%f%z")
    except (TypeError, ValueError):
        return created_date
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def init_app(app: Flask) -> None:
    """One Salesforce client (and connection pool) per app, from config."""
    app.extensions["portal.salesforce"] = SalesforceClient(
        login_url=app.config["SF_LOGIN_URL"],
        client_id=app.config["SF_CLIENT_ID"],
        client_secret=app.config["SF_CLIENT_SECRET"],
        token_handler=app.config["SF_TOKEN_HANDLER"],
        scope=app.config["SF_SCOPE"],
        api_version=app.config["SF_API_VERSION"],
        timeout=app.config["HTTP_TIMEOUT"],
        verify=app.config["SF_CA_FILE"] or True,
    )
    app.add_template_filter(opened)


def speaker_cases() -> SpeakerCases:
    return SpeakerCases(
        current_user._get_current_object(), current_app.extensions["portal.salesforce"]
    )


@bp.get("/support")
@login_required
def support() -> str:
    status = next(iter(get_flashed_messages()), None)
    cases = speaker_cases().list()
    return render_template("cases/support.html", cases=cases, form=CaseForm(None), status=status)


@bp.post("/support/cases")
@login_required
def create() -> Response | str | tuple[str, int]:
    form = CaseForm()
    if not form.validate_on_submit():
        return _invalid(form)
    try:
        number = speaker_cases().create(
            form.subject.data, form.description.data, form.priority.data
        )
    except SalesforceApiError as exc:
        if exc.status != 400:
            raise
        form.form_errors.append(f"Salesforce refused the case: {exc.message} ({exc.error_code})")
        return _invalid(form)
    return _created(f"Case {number} created.")


def _created(message: str) -> Response | str:
    if is_htmx_request():
        cases = speaker_cases().list()
        return render_template(
            "cases/_created.html", cases=cases, form=CaseForm(None), status=message
        )
    flash(message)
    return redirect(url_for(".support"), 303)


def _invalid(form: CaseForm) -> tuple[str, int]:
    """The form again, with what the speaker typed and why it was refused (422; htmx swaps it)."""
    if is_htmx_request():
        return render_template("cases/_case_form.html", form=form), 422
    cases = speaker_cases().list()
    return render_template("cases/support.html", cases=cases, form=form), 422
