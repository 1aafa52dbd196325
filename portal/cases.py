"""The speaker's Support pages: her cases listed, searched, opened, created, commented, closed.

Pages only render: the Salesforce calls are in support_cases.py, the session in sf_session.py.
Forms check their own CSRF token (FlaskForm), so an expired one, like Salesforce or the IdP
being down, brings the form back with everything typed and a message, never an error page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import flash
from flask import get_flashed_messages
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import ValidationError

from . import drafts
from . import errors
from . import sf_session
from .errors import PortalError
from .errors import Problem
from .errors import problem_for
from .htmx import hx_redirect
from .htmx import is_htmx_request
from .salesforce import SalesforceApiError
from .salesforce import SalesforceError
from .security import csrf
from .support_cases import CaseDesk
from .support_cases import FieldRules

bp = Blueprint("cases", __name__)

CSRF_WORDS = "This form had expired (the page was open long, or you logged in again). "


def strip(value: str | None) -> str | None:
    return value.strip() if value else value


class CaseForm(FlaskForm):
    """A new support case, as the speaker types it; limits come from Salesforce's describe."""

    subject = StringField("Subject", filters=[strip])
    description = TextAreaField("Description")
    priority = SelectField("Priority", validate_choice=False)

    def apply(self, rules: FieldRules | None) -> CaseForm:
        """Set the limits and choices describe gives (none known: Salesforce will check)."""
        self.subject.validators = [DataRequired("Enter a subject.")]
        if rules is None:
            self.priority.choices = [self.priority.data] if self.priority.data else []
            return self
        self.subject.validators.append(
            Length(max=rules.subject_max, message=too_long("subject", rules.subject_max))
        )
        self.description.validators = [
            Length(
                max=rules.description_max, message=too_long("description", rules.description_max)
            )
        ]
        self.priority.choices = list(rules.priorities)
        self.priority.data = self.priority.data or rules.default_priority
        return self

    def validate_priority(self, field: SelectField) -> None:
        if field.choices and field.data not in field.choices:
            raise ValidationError("Choose one of the priorities listed.")


class CommentForm(FlaskForm):
    """A comment on a case."""

    body = TextAreaField("Your comment", filters=[strip])

    def apply(self, rules: FieldRules | None) -> CommentForm:
        self.body.validators = [DataRequired("Write a comment first.")]
        if rules is not None:
            self.body.validators.append(
                Length(max=rules.comment_max, message=too_long("comment", rules.comment_max))
            )
        return self


class StatusForm(FlaskForm):
    """Close or reopen: a button, with its CSRF token."""


def too_long(what: str, limit: int) -> str:
    return f"Keep the {what} to {limit:,} characters or fewer (Salesforce's limit)."


def desk() -> CaseDesk:
    return CaseDesk(sf_session.for_login(current_user._get_current_object()))


def rules_if_known(case_desk: CaseDesk) -> FieldRules | None:
    """The field rules, or None when Salesforce cannot be asked right now (the form still shows)."""
    try:
        return case_desk.rules()
    except (SalesforceError, PortalError):
        return None


def opened(created_date: str | None) -> str:
    """Salesforce's `2024-05-01T12:34:56.000+0000` as `2024-05-01 12:34 UTC`."""
    try:
        moment = datetime.strptime(created_date or "", "%Y-%m-%dT%H:%M:%S.%f%z")
    except (TypeError, ValueError):
        return created_date or ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def init_app(app: Flask) -> None:
    app.add_template_filter(opened)


@bp.get("/support")
@login_required
def support() -> str:
    page = desk().page(
        status=request.args.get("status", "open"),
        search=(request.args.get("q") or "").strip()[:200],
        page=request.args.get("page", 1, type=int) or 1,
    )
    template = (
        "cases/_case_list.html"
        if request.headers.get("HX-Target") == "case-list"
        else "cases/support.html"
    )
    return render_template(template, listing=page, status=next(iter(get_flashed_messages()), None))


@bp.get("/support/cases/new")
@login_required
def new() -> str:
    draft = drafts.find(url_for(".create"))
    form = CaseForm(data=draft).apply(rules_if_known(desk()))
    return render_template("cases/new.html", form=form, restored=draft is not None)


@csrf.exempt  # CaseForm checks the token itself, so an expired one keeps what was typed
@bp.post("/support/cases")
@login_required
def create() -> Response | tuple[str, int]:
    case_desk = desk()
    form = CaseForm().apply(rules_if_known(case_desk))

    def render(problem: Problem | None, status: int) -> tuple[str, int]:
        return render_template("cases/new.html", form=form, problem=problem), status

    if not form.validate_on_submit():
        return render(csrf_problem(form), 422)
    return sending(
        lambda: case_desk.create(
            form.subject.data, form.description.data or "", form.priority.data
        ),
        lambda case: (f"Case {case['CaseNumber']} created.", url_for(".case", case_id=case["Id"])),
        render,
    )


@bp.get("/support/cases/<case_id>")
@login_required
def case(case_id: str) -> str:
    case_desk = desk()
    record = case_desk.case(case_id)
    draft = drafts.find(url_for(".comment", case_id=case_id))
    form = CommentForm(data=draft).apply(rules_if_known(case_desk))
    return render_template(
        "cases/case.html",
        case=record,
        form=form,
        status_form=StatusForm(),
        restored=draft is not None,
        status=next(iter(get_flashed_messages()), None),
    )


@csrf.exempt  # CommentForm checks the token itself, so an expired one keeps what was typed
@bp.post("/support/cases/<case_id>/comments")
@login_required
def comment(case_id: str) -> Response | tuple[str, int]:
    case_desk = desk()
    form = CommentForm().apply(rules_if_known(case_desk))

    def render(problem: Problem | None, status: int) -> tuple[str, int]:
        record = case_desk.case(case_id)  # raises CaseNotFound for a foreign case
        page = render_template(
            "cases/case.html",
            case=record,
            form=form,
            status_form=StatusForm(),
            problem=problem,
            restored=False,
        )
        return page, status

    if not form.validate_on_submit():
        return render(csrf_problem(form), 422)
    return sending(
        lambda: case_desk.comment(case_id, form.body.data),
        lambda _: ("Comment added.", url_for(".case", case_id=case_id, _anchor="comments")),
        render,
    )


def _database_unavailable(exc: Exception) -> Response | tuple[str, int]:
    """The portal's database is down: a case or comment sent now comes back as typed, unsent."""
    errors.database_down(exc)
    problem = not_sent(errors.DATABASE_UNAVAILABLE)
    if request.method == "POST" and request.endpoint == "cases.create":
        form = CaseForm().apply(None)
        return render_template("cases/new.html", form=form, problem=problem), problem.status
    if request.method == "POST" and request.endpoint == "cases.comment":
        case_id = (request.view_args or {}).get("case_id", "")
        page = render_template(
            "cases/comment_not_sent.html",
            form=CommentForm().apply(None),
            case_id=case_id,
            problem=problem,
            restored=False,
        )
        return page, problem.status
    return errors.render_problem(errors.DATABASE_UNAVAILABLE)


for _kind in errors.DATABASE_GONE:
    bp.register_error_handler(_kind, _database_unavailable)


STATUS_CHANGES = {
    "close": (True, "Case closed. You can reopen it if the problem comes back."),
    "reopen": (False, "Case reopened."),
}


@bp.post("/support/cases/<case_id>/<any(close, reopen):change>")
@login_required
def change_status(case_id: str, change: str) -> Response:
    closed, message = STATUS_CHANGES[change]
    desk().set_closed(case_id, closed=closed)
    flash(message)
    return redirect(url_for(".case", case_id=case_id), 303)


def csrf_problem(form: FlaskForm) -> Problem | None:
    """An expired CSRF token is no field error: say it over the form, in words."""
    if "csrf_token" not in form.errors:
        return None
    return Problem(
        422,
        "Not sent yet",
        CSRF_WORDS + "Nothing was lost: check what you typed and send it again.",
        "Send the form again.",
        "csrf",
        "; ".join(form.errors["csrf_token"]),
    )


def sending(
    send: Callable[[], Any],
    done: Callable[[Any], tuple[str, str]],
    render: Callable[[Problem | None, int], tuple[str, int]],
) -> Response | tuple[str, int]:
    """Send a form to Salesforce; on success forget its draft and go on, else show it again."""
    try:
        result = send()
    except (SalesforceError, PortalError) as exc:
        problem = problem_for(exc)
        if isinstance(exc, SalesforceApiError) and exc.status == 400:
            problem = Problem(
                422,
                "Salesforce refused it",
                exc.message,
                "Change it and send again.",
                exc.error_code,
                exc.message,
            )
        assert problem is not None
        return render(not_sent(problem), problem.status)
    drafts.discard(request.path)
    message, target = done(result)
    flash(message)
    return hx_redirect(target) if is_htmx_request() else redirect(target, 303)


def not_sent(problem: Problem) -> Problem:
    """The same problem, worded for a form that comes back with what was typed."""
    return Problem(
        problem.status,
        "Not sent yet",
        f"{problem.message} Nothing you typed is lost.",
        problem.advice,
        problem.code,
        problem.detail,
    )
