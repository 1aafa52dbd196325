"""The mock org's records: typed SQLAlchemy 2 models over one Flask-SQLAlchemy singleton.

Column names are snake_case; the REST layer (rest/describe.py) shows the Salesforce API names.
Datetimes are stored as naive UTC.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2 import profiles
from flask import Flask
from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Boolean
from sqlalchemy import Date
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import event
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import make_url
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from mock_sf import ids
from mock_sf import sqlite_workers

EXTERNAL_USER_TYPES = frozenset(
    {"PowerPartner", "PowerCustomerSuccess", "CustomerSuccess", "CspLitePortal", "CsnOnly"}
)


def utcnow() -> datetime:
    """Now, as the naive UTC datetime every column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def _id_factory(sobject: str) -> Any:
    prefix = ids.KEY_PREFIXES[sobject]
    return lambda: ids.new_id(prefix)


def _owner_key() -> ForeignKey:
    """A User id on Account or Contact; created by ALTER, as User points back at both."""
    return ForeignKey("user.id", use_alter=True)


class Base(DeclarativeBase):
    """Declarative base for every mock_sf model."""


db = SQLAlchemy(model_class=Base)


class Organization(Base):
    """The one org this mock serves."""

    __tablename__ = "organization"
    id: Mapped[str] = mapped_column(
        String(18), primary_key=True, default=_id_factory("Organization")
    )
    name: Mapped[str] = mapped_column(String(80))


class ApiUsage(Base):
    """REST calls of one org on one UTC day (DailyApiRequests): one row, counted in place."""

    __tablename__ = "api_usage"
    __table_args__ = (UniqueConstraint("org_id", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organization.id"))
    day: Mapped[date] = mapped_column(Date)
    calls: Mapped[int] = mapped_column(Integer, default=0)


class Account(Base):
    """A company; speakers' contacts hang off one."""

    __tablename__ = "account"
    id: Mapped[str] = mapped_column(String(18), primary_key=True, default=_id_factory("Account"))
    name: Mapped[str] = mapped_column(String(255), index=True)
    created_date: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Added after the table first shipped: nullable, so init-db adds them (migration 0001).
    phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(255))
    number_of_employees: Mapped[int | None] = mapped_column(Integer)
    last_modified_date: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)
    system_modstamp: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)
    # Set to the handler's Run As user for accounts a token exchange creates (_owner_key).
    owner_id: Mapped[str | None] = mapped_column(_owner_key())
    created_by_id: Mapped[str | None] = mapped_column(_owner_key())


class Contact(Base):
    """A person at an account; an external user is tied to one."""

    __tablename__ = "contact"
    id: Mapped[str] = mapped_column(String(18), primary_key=True, default=_id_factory("Contact"))
    first_name: Mapped[str | None] = mapped_column(String(40))
    last_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(80), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("account.id"))
    created_date: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Added after the table first shipped: nullable, so init-db adds them (migration 0001).
    phone: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(128))
    last_modified_date: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)
    system_modstamp: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)
    owner_id: Mapped[str | None] = mapped_column(_owner_key())
    created_by_id: Mapped[str | None] = mapped_column(_owner_key())

    account: Mapped[Account | None] = relationship()


class Profile(Base):
    """A profile (prefix ``00e``); connected apps pre-authorize users by profile."""

    __tablename__ = "profile"
    id: Mapped[str] = mapped_column(String(18), primary_key=True, default=_id_factory("Profile"))
    name: Mapped[str] = mapped_column(String(255), unique=True)
    user_license: Mapped[str] = mapped_column(String(80))
    # System permission "API Enabled" (REST access); "Custom" marks a cloned profile.
    api_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_custom: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class PermissionSet(Base):
    """A permission set (prefix ``0PS``): grants system permissions on top of a profile."""

    __tablename__ = "permission_set"
    id: Mapped[str] = mapped_column(
        String(18), primary_key=True, default=_id_factory("PermissionSet")
    )
    name: Mapped[str] = mapped_column(String(80), unique=True)  # API name
    label: Mapped[str] = mapped_column(String(80))
    api_enabled: Mapped[bool] = mapped_column(Boolean, default=False)


class PermissionSetAssignment(Base):
    """A permission set assigned to a user (object PermissionSetAssignment)."""

    __tablename__ = "permission_set_assignment"
    __table_args__ = (UniqueConstraint("assignee_id", "permission_set_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignee_id: Mapped[str] = mapped_column(ForeignKey("user.id"), index=True)
    permission_set_id: Mapped[str] = mapped_column(ForeignKey("permission_set.id"))


class User(Base):
    """A Salesforce user: Standard (internal) or external (e.g. UserType CspLitePortal)."""

    __tablename__ = "user"
    id: Mapped[str] = mapped_column(String(18), primary_key=True, default=_id_factory("User"))
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str] = mapped_column(String(128))
    first_name: Mapped[str | None] = mapped_column(String(40))
    last_name: Mapped[str] = mapped_column(String(80))
    alias: Mapped[str | None] = mapped_column(String(8))
    locale: Mapped[str] = mapped_column(String(40), default="en_US")
    user_type: Mapped[str] = mapped_column(String(40), default="Standard")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contact.id"))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("account.id"))
    # "<iss>|<sub>": how an IdP subject maps to this user; never matched by email.
    federation_identifier: Mapped[str | None] = mapped_column(String(512), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_date: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Required in Salesforce; nullable only so older databases gain it (migration 0001).
    profile_id: Mapped[str | None] = mapped_column(ForeignKey("profile.id"))
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("user.id"))
    # The role's name (UserRoleId in Salesforce): a portal account's owner must have one.
    user_role: Mapped[str | None] = mapped_column(String(80))

    # foreign_keys: Account and Contact point back at User through OwnerId and CreatedById.
    contact: Mapped[Contact | None] = relationship(foreign_keys=[contact_id])
    account: Mapped[Account | None] = relationship(foreign_keys=[account_id])
    profile: Mapped[Profile | None] = relationship()

    @property
    def name(self) -> str:
        """Full name as Salesforce's Name field composes it."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def is_external(self) -> bool:
        """Community/portal users only ever see their own contact's records."""
        return self.user_type in EXTERNAL_USER_TYPES


class ConnectedApp(Base):
    """A connected app's OAuth settings relevant to token exchange."""

    __tablename__ = "connected_app"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    developer_name: Mapped[str] = mapped_column(String(80), unique=True)
    consumer_key: Mapped[str] = mapped_column(String(255), unique=True)
    # Kept in clear: the response `signature` is an HMAC keyed with it (contract §4.1).
    consumer_secret: Mapped[str] = mapped_column(String(255))
    is_token_exchange_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_secret_required_for_token_exchange: Mapped[bool] = mapped_column(Boolean, default=True)
    # "Require Secret for Refresh Token Flow" (on by default) and refresh token rotation (off).
    # Added after the table first shipped: server defaults let init-db add them (migration 0001).
    is_secret_required_for_refresh_token: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    is_refresh_token_rotation_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    scopes: Mapped[str] = mapped_column(String(255), default="api")  # space-separated
    # Permitted Users (oauth/permitted_users.py); NULL only on rows older than the column.
    permitted_users: Mapped[str | None] = mapped_column(
        String(40), default="all_users_may_self_authorize"
    )

    @property
    def scope_set(self) -> frozenset[str]:
        """The app's scopes as a set."""
        return frozenset(self.scopes.split())


class OauthTokenExchangeHandler(Base):
    """Setup record of a token exchange handler (object OauthTokenExchangeHandler)."""

    __tablename__ = "oauth_token_exchange_handler"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    developer_name: Mapped[str] = mapped_column(String(80), unique=True)
    master_label: Mapped[str] = mapped_column(String(80))
    # "package.module:Class", the Python stand-in for the Apex class.
    handler_class: Mapped[str] = mapped_column(String(255))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_user_creation_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    supports_access_token: Mapped[bool] = mapped_column(Boolean, default=False)
    supports_refresh_token: Mapped[bool] = mapped_column(Boolean, default=False)
    supports_id_token: Mapped[bool] = mapped_column(Boolean, default=False)
    supports_saml2: Mapped[bool] = mapped_column(Boolean, default=False)
    supports_jwt: Mapped[bool] = mapped_column(Boolean, default=False)
    # Profile of users this handler creates when its class sets none (else JIT_PROFILE).
    jit_profile_id: Mapped[str | None] = mapped_column(ForeignKey("profile.id"))

    @property
    def class_name(self) -> str:
        """The class part of the import path (what token_handler may name)."""
        return self.handler_class.rpartition(":")[2]


class OauthTokenExchHandlerApp(Base):
    """A handler enabled for an app, with its run-as user and default flag."""

    __tablename__ = "oauth_token_exch_handler_app"
    __table_args__ = (UniqueConstraint("handler_id", "app_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handler_id: Mapped[int] = mapped_column(ForeignKey("oauth_token_exchange_handler.id"))
    app_id: Mapped[int] = mapped_column(ForeignKey("connected_app.id"))
    run_as_user_id: Mapped[str | None] = mapped_column(ForeignKey("user.id"))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    handler: Mapped[OauthTokenExchangeHandler] = relationship()
    app: Mapped[ConnectedApp] = relationship()
    run_as_user: Mapped[User | None] = relationship()


class ConnectedAppProfile(Base):
    """A profile pre-authorized for a connected app ("Manage Profiles" on the app)."""

    __tablename__ = "connected_app_profile"
    __table_args__ = (UniqueConstraint("app_id", "profile_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("connected_app.id"))
    profile_id: Mapped[str] = mapped_column(ForeignKey("profile.id"))


class OAuthApproval(Base):
    """A user's stored approval of a connected app (what "self-authorize" looks for)."""

    __tablename__ = "oauth_approval"
    __table_args__ = (UniqueConstraint("user_id", "app_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id"))
    app_id: Mapped[int] = mapped_column(ForeignKey("connected_app.id"))
    approved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OAuthToken(Base):
    """An issued access token, stored only as its SHA-256 hash."""

    __tablename__ = "oauth_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id"))
    app_id: Mapped[int] = mapped_column(ForeignKey("connected_app.id"))
    scopes: Mapped[str] = mapped_column(String(255))
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    # The refresh token (oauth/refresh_tokens.py) it was minted with: revoking that revokes this.
    refresh_token_id: Mapped[int | None] = mapped_column(Integer, index=True)

    user: Mapped[User] = relationship()


class SeenJti(Base):
    """A subject token's jti, refused again until it expires."""

    __tablename__ = "seen_jti"
    __table_args__ = (UniqueConstraint("issuer", "jti"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(512))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class ExchangeAttempt(Base):
    """Audit row per token exchange: the client saw a terse error, this keeps the reason."""

    __tablename__ = "exchange_attempt"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    client_id: Mapped[str | None] = mapped_column(String(255))
    app_id: Mapped[int | None] = mapped_column(ForeignKey("connected_app.id"))
    handler: Mapped[str | None] = mapped_column(String(80))
    token_type: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("user.id"))
    outcome: Mapped[str] = mapped_column(String(16))  # "success" | "failure"
    error: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)


class Case(Base):
    """A support case."""

    __tablename__ = "case"
    id: Mapped[str] = mapped_column(String(18), primary_key=True, default=_id_factory("Case"))
    # CaseNumber autonumber, stored as an integer and shown as 8 digits (00001000, ...).
    case_number: Mapped[int] = mapped_column(Integer, unique=True)  # set to next_case_number()
    subject: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(40), default="New")
    priority: Mapped[str | None] = mapped_column(String(40))
    origin: Mapped[str | None] = mapped_column(String(40))
    type: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(40))
    # "Web" fields (web-to-case): set on create, never updatable afterwards.
    supplied_name: Mapped[str | None] = mapped_column(String(80))
    supplied_email: Mapped[str | None] = mapped_column(String(80))
    supplied_phone: Mapped[str | None] = mapped_column(String(40))
    supplied_company: Mapped[str | None] = mapped_column(String(80))
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contact.id"), index=True)
    # Indexed: the default sharing (contact_or_account) matches cases by account too.
    account_id: Mapped[str | None] = mapped_column(ForeignKey("account.id"), index=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("user.id"))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_date: Mapped[datetime | None] = mapped_column(DateTime)
    # Added after the table first shipped (nullable or server defaults: migration 0001 adds them).
    is_escalated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("case.id"), index=True)
    # Portal_Request_Id__c, the portal's idempotency key: Text(64), External ID, Unique (case-
    # insensitive: rest/upsert.py matches on lower(); the index catches a concurrent retry).
    portal_request_id: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    # Soft delete: DELETE sets it; query hides the row, queryAll shows it.
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_date: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[str] = mapped_column(ForeignKey("user.id"))
    last_modified_date: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_modified_by_id: Mapped[str] = mapped_column(ForeignKey("user.id"))
    system_modstamp: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CaseComment(Base):
    """A comment on a case; portal users see only published ones (and their own)."""

    __tablename__ = "case_comment"
    id: Mapped[str] = mapped_column(
        String(18), primary_key=True, default=_id_factory("CaseComment")
    )
    parent_id: Mapped[str] = mapped_column(ForeignKey("case.id"), index=True)
    comment_body: Mapped[str | None] = mapped_column(Text)
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_date: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_id: Mapped[str] = mapped_column(ForeignKey("user.id"))
    last_modified_date: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_modified_by_id: Mapped[str] = mapped_column(ForeignKey("user.id"))
    system_modstamp: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    sqlite_workers.pragmas(dbapi_connection)


def init_app(app: Flask) -> None:
    """Bind the db to the app; SQLite gets WAL, foreign keys, a busy timeout and background
    checkpoints."""
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite":
        # A database server that restarted leaves every pooled connection dead: each one is
        # checked as it leaves the pool, so no request after the restart fails on a dead one.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {}).setdefault("pool_pre_ping", True)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
            sqlite_workers.install(db.engine)
        else:
            event.listen(db.engine, "handle_error", _server_ended_connection)
    # Runs before Flask-SQLAlchemy's teardown, where a rollback that fails would become a 500.
    app.teardown_appcontext(_end_session)


def _server_ended_connection(context: ExceptionContext) -> None:
    """Count a connection the server ended (SQLSTATE class 57P: shutdown, restart) as lost."""
    # psycopg reports the server's FATAL message before it sees the socket closed, and SQLAlchemy's
    # psycopg dialect counts only closed or broken connections as lost: the dead connection would
    # stay in use, and even the failed request's rollback would fail (a 500).
    if str(getattr(context.original_exception, "sqlstate", "")).startswith("57P"):
        context.is_disconnect = True


def _end_session(_exc: BaseException | None) -> None:
    """End the request's session; a connection the server ended fails its rollback once."""
    try:
        db.session.remove()
    except OperationalError as exc:  # the response is made already: the loss is only logged
        current_app.logger.warning("database connection lost after a request: %s", exc.orig)
        db.session.remove()


# The key of the PostgreSQL advisory lock that serializes CaseNumbers (any fixed number).
CASE_NUMBER_LOCK = 5_000_001_000


def next_case_number() -> Any:
    """The next CaseNumber, computed inside the INSERT so concurrent creates cannot collide.

    SQLite has one writer at a time; PostgreSQL lets two transactions read the same max, so
    there the number is taken under a lock held until commit.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(CASE_NUMBER_LOCK)))
    return select(func.coalesce(func.max(Case.case_number), 999) + 1).scalar_subquery()


def password_hasher() -> PasswordHasher:
    """Argon2 with the configured profile (ARGON2_PROFILE; tests pick the cheapest)."""
    return PasswordHasher.from_parameters(getattr(profiles, current_app.config["ARGON2_PROFILE"]))
