"""What the Setup pages read and change: connected apps, handlers, users, cases, exchange log."""

from __future__ import annotations

from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from mock_sf.handlers.base import TokenExchangeType
from mock_sf.models import Case
from mock_sf.models import ConnectedApp
from mock_sf.models import Contact
from mock_sf.models import ExchangeAttempt
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import OauthTokenExchHandlerApp
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.setup.forms import TOKEN_TYPE_FLAGS

PER_PAGE = 50
OUTCOMES = ("success", "failure")


class SetupError(Exception):
    """A change Setup refuses; the message is shown to the admin."""


@dataclass(frozen=True)
class LogEntry:
    """One exchange attempt, with its app's name resolved."""

    attempt: ExchangeAttempt
    app_name: str | None

    @property
    def token_type_name(self) -> str | None:
        """``ACCESS_TOKEN`` etc. for a known URN, else the URN as sent."""
        urn = self.attempt.token_type
        kind = TokenExchangeType.from_urn(urn) if urn else None
        return kind.name if kind else urn


def apps() -> list[ConnectedApp]:
    """Every connected app, by developer name."""
    return list(db.session.scalars(select(ConnectedApp).order_by(ConnectedApp.developer_name)))


def app_links(app: ConnectedApp) -> list[OauthTokenExchHandlerApp]:
    """The handlers enabled for an app."""
    return list(
        db.session.scalars(
            select(OauthTokenExchHandlerApp)
            .options(joinedload(OauthTokenExchHandlerApp.handler))
            .where(OauthTokenExchHandlerApp.app_id == app.id)
            .order_by(OauthTokenExchHandlerApp.id)
        )
    )


def update_app(app: ConnectedApp, exchange_enabled: bool, secret_required: bool) -> None:
    """Save an app's token exchange settings."""
    app.is_token_exchange_enabled = exchange_enabled
    app.is_secret_required_for_token_exchange = secret_required
    db.session.commit()


def handlers() -> list[OauthTokenExchangeHandler]:
    """Every handler record, by developer name."""
    return list(
        db.session.scalars(
            select(OauthTokenExchangeHandler).order_by(OauthTokenExchangeHandler.developer_name)
        )
    )


def handler_links(handler: OauthTokenExchangeHandler) -> list[OauthTokenExchHandlerApp]:
    """The apps a handler is enabled for, with run-as user and default flag."""
    return list(
        db.session.scalars(
            select(OauthTokenExchHandlerApp)
            .options(joinedload(OauthTokenExchHandlerApp.app))
            .where(OauthTokenExchHandlerApp.handler_id == handler.id)
            .order_by(OauthTokenExchHandlerApp.id)
        )
    )


def supported_types(handler: OauthTokenExchangeHandler) -> list[str]:
    """Labels of the token types the handler accepts."""
    return [label for flag, label in TOKEN_TYPE_FLAGS if getattr(handler, flag)]


def update_handler(handler: OauthTokenExchangeHandler, flags: dict[str, bool]) -> None:
    """Save a handler's enabled / user creation / supported token type flags."""
    editable = {"is_enabled", "is_user_creation_allowed", *(flag for flag, _ in TOKEN_TYPE_FLAGS)}
    for name, value in flags.items():
        if name in editable:
            setattr(handler, name, bool(value))
    db.session.commit()


def users(page: int) -> Pagination:
    """Users, internal first, then by username."""
    query = (
        select(User)
        .options(joinedload(User.contact), joinedload(User.account))
        .order_by(User.user_type != "Standard", User.username)
    )
    return db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)


def set_user_active(user: User, active: bool, acting_admin: User) -> None:
    """Activate or deactivate a user; an admin cannot lock themselves out."""
    if not active and user.id == acting_admin.id:
        raise SetupError("You cannot deactivate the user you are logged in as.")
    user.is_active = active
    db.session.commit()


def cases(page: int) -> tuple[Pagination, dict[str, Contact]]:
    """Cases, newest first, and the contacts they are for (by id)."""
    query = select(Case).order_by(Case.created_date.desc(), Case.case_number.desc())
    pagination = db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)
    contact_ids = {case.contact_id for case in pagination.items if case.contact_id}
    contacts = db.session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))
    return pagination, {contact.id: contact for contact in contacts}


def exchange_log(outcome: str | None, page: int) -> tuple[Pagination, list[LogEntry]]:
    """Exchange attempts, newest first, optionally of one outcome."""
    query = select(ExchangeAttempt).order_by(
        ExchangeAttempt.created_at.desc(), ExchangeAttempt.id.desc()
    )
    if outcome in OUTCOMES:
        query = query.where(ExchangeAttempt.outcome == outcome)
    pagination = db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)
    names = {app.id: app.developer_name for app in apps()}
    entries = [LogEntry(attempt, names.get(attempt.app_id)) for attempt in pagination.items]
    return pagination, entries
