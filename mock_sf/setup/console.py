"""What the Setup pages read and change: connected apps, handlers, users, cases, exchange log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from mock_sf.handlers.base import TokenExchangeType
from mock_sf.handlers.registration import TOKEN_TYPE_FLAGS as TOKEN_TYPE_NAMES
from mock_sf.handlers.registration import RegistrationError
from mock_sf.handlers.registration import parse_entry
from mock_sf.handlers.registration import register
from mock_sf.models import Case
from mock_sf.models import ConnectedApp
from mock_sf.models import Contact
from mock_sf.models import ExchangeAttempt
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import OauthTokenExchHandlerApp
from mock_sf.models import PermissionSet
from mock_sf.models import PermissionSetAssignment
from mock_sf.models import Profile
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.oauth.permitted_users import POLICIES
from mock_sf.oauth.permitted_users import policy
from mock_sf.oauth.permitted_users import preauthorized_profile_ids
from mock_sf.oauth.permitted_users import set_policy
from mock_sf.profiles import ProfileNotAllowed
from mock_sf.profiles import all_permission_sets
from mock_sf.profiles import all_profiles
from mock_sf.profiles import clone_profile
from mock_sf.profiles import set_api_enabled
from mock_sf.profiles import set_permission_sets
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


def access_policy(app: ConnectedApp) -> tuple[str, list[str]]:
    """The app's Permitted Users label and the names of its pre-authorized profiles."""
    ids = preauthorized_profile_ids(app)
    names = [profile.name for profile in all_profiles() if profile.id in ids]
    return POLICIES[policy(app)], names


def update_app(app: ConnectedApp, exchange_enabled: bool, secret_required: bool) -> None:
    """Save an app's token exchange settings."""
    app.is_token_exchange_enabled = exchange_enabled
    app.is_secret_required_for_token_exchange = secret_required
    db.session.commit()


def update_app_access(app: ConnectedApp, permitted_users: str, profile_ids: list[str]) -> None:
    """Save an app's Permitted Users policy and pre-authorized profiles."""
    known = {profile.id for profile in all_profiles()}
    set_policy(app, permitted_users, set(profile_ids) & known)
    db.session.commit()


def profile_choices(blank: str | None = None) -> list[SelectChoice]:
    """Profiles as select choices (id, name), optionally after a blank choice."""
    choices = [SelectChoice("", blank)] if blank is not None else []
    return choices + [SelectChoice(profile.id, profile.name) for profile in all_profiles()]


def app_choices() -> list[SelectChoice]:
    """Connected apps by developer name, after "none"."""
    return [SelectChoice("", "— none —")] + [
        SelectChoice(app.developer_name, app.developer_name) for app in apps()
    ]


def create_handler(data: dict[str, Any]) -> OauthTokenExchangeHandler:
    """A handler record from the New handler form, validated like SF_TOKEN_EXCHANGE_HANDLERS.

    Raises SetupError with the reason; nothing is stored then.
    """
    name = (data.get("developer_name") or "").strip()
    exists = db.session.scalar(
        select(OauthTokenExchangeHandler.id).where(OauthTokenExchangeHandler.developer_name == name)
    )
    if exists is not None:
        raise SetupError(f"A handler named {name} already exists.")
    profile = db.session.get(Profile, data["jit_profile"]) if data.get("jit_profile") else None
    entry: dict[str, Any] = {
        "developer_name": name,
        "label": (data.get("label") or "").strip() or name,
        "class": data.get("handler_class") or "",
        "token_types": [
            kind for kind, flag in TOKEN_TYPE_NAMES.items() if data.get(flag) and kind != "saml_2"
        ],
        "user_creation_allowed": bool(data.get("is_user_creation_allowed")),
        "enabled": bool(data.get("is_enabled")),
        "jit_profile": profile.name if profile else None,
    }
    if data.get("app"):
        entry["apps"] = [
            {
                "app": data["app"],
                "default": bool(data.get("is_default")),
                "run_as": (data.get("run_as") or "").strip() or None,
            }
        ]
    try:
        handler = register(parse_entry(entry))
    except RegistrationError as exc:
        db.session.rollback()
        raise SetupError(str(exc)) from None
    db.session.commit()
    return handler


def set_user_profile(user: User, profile_id: str) -> None:
    """Change a user's profile (which also decides the apps that pre-authorize them)."""
    profile = db.session.get(Profile, profile_id)
    if profile is None:
        raise SetupError("There is no such profile.")
    user.profile = profile
    db.session.commit()


def profiles_with_counts() -> list[tuple[Profile, int]]:
    """Every profile with the number of users who have it."""
    counts = dict(
        db.session.execute(select(User.profile_id, func.count()).group_by(User.profile_id)).all()
    )
    return [(profile, counts.get(profile.id, 0)) for profile in all_profiles()]


def clone(source_id: str, name: str, api_enabled: bool) -> Profile:
    """Clone a profile, optionally turning API Enabled on."""
    source = db.session.get(Profile, source_id)
    if source is None:
        raise SetupError("There is no such profile.")
    try:
        profile = clone_profile(source, name.strip(), api_enabled=api_enabled)
    except ProfileNotAllowed as exc:
        db.session.rollback()
        raise SetupError(str(exc)) from None
    db.session.commit()
    return profile


def set_profile_api_enabled(profile: Profile, enabled: bool) -> None:
    """Save a custom profile's API Enabled."""
    try:
        set_api_enabled(profile, enabled)
    except ProfileNotAllowed as exc:
        raise SetupError(str(exc)) from None
    db.session.commit()


def permission_set_choices() -> list[SelectChoice]:
    """Permission sets as checkbox choices, the system permission they grant in the label."""
    return [
        SelectChoice(ps.id, f"{ps.label}{' (API Enabled)' if ps.api_enabled else ''}")
        for ps in all_permission_sets()
    ]


def assigned_permission_set_ids(user: User) -> list[str]:
    """Ids of the permission sets assigned to the user."""
    return list(
        db.session.scalars(
            select(PermissionSetAssignment.permission_set_id).where(
                PermissionSetAssignment.assignee_id == user.id
            )
        )
    )


def api_access(user: User) -> str:
    """Where the user's API Enabled comes from, as Setup's user page says it."""
    if user.profile is not None and user.profile.api_enabled:
        return f"API Enabled, from the profile {user.profile.name}"
    granting = db.session.scalars(
        select(PermissionSet.label)
        .join(
            PermissionSetAssignment, PermissionSetAssignment.permission_set_id == PermissionSet.id
        )
        .where(PermissionSetAssignment.assignee_id == user.id, PermissionSet.api_enabled)
    ).all()
    if granting:
        return f"API Enabled, from the permission set {', '.join(granting)}"
    return "No API access: REST calls answer 403 API_DISABLED_FOR_ORG"


def update_user(
    user: User, federation_identifier: str, role: str, permission_set_ids: list[str]
) -> None:
    """Save a user's Federation ID (unique in the org), role and permission set assignments."""
    federation_identifier = federation_identifier.strip() or None
    if federation_identifier is not None:
        holder = db.session.scalar(
            select(User.username).where(
                User.federation_identifier == federation_identifier, User.id != user.id
            )
        )
        if holder is not None:
            raise SetupError(f"The Federation ID {federation_identifier} belongs to {holder}.")
    user.federation_identifier = federation_identifier
    user.user_role = role.strip() or None
    set_permission_sets(user, set(permission_set_ids))
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
        .options(joinedload(User.contact), joinedload(User.account), joinedload(User.profile))
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
