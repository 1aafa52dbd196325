"""The portal's own tables: who logged in, the tokens of each login (server-side only, encrypted
at rest: token_vault.py), drafts."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from typing import Any

import click
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext
from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import event
from sqlalchemy import make_url
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from . import migrations
from .salesforce import SalesforceToken
from .token_vault import Encrypted

# Used only when the IdP's token response has no expires_in: the exchange will tell if it is wrong.
FALLBACK_TOKEN_LIFETIME = 300


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return secrets.token_urlsafe(32)


class User(db.Model):
    """A speaker as the IdP identifies them (by `sub`)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    sub: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(255))


class LoginSession(UserMixin, db.Model):
    """One browser login; its random id is all Flask-Login keeps in the cookie.

    Its tokens (IdP, SAML assertion, Salesforce) are `Encrypted` columns: ciphertext in the
    database, plain strings in Python.
    """

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=_new_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    user: Mapped[User] = relationship()
    created_at: Mapped[datetime] = mapped_column(default=_utcnow)
    protocol: Mapped[str] = mapped_column(String(8), default="oidc")  # "oidc" or "saml"

    # OIDC logins: the IdP's tokens.
    idp_access_token: Mapped[str | None] = mapped_column(Encrypted)
    # Unix seconds, as the token response gives it; avoids naive/aware datetime mix-ups in SQLite.
    idp_access_token_expires_at: Mapped[int | None]
    idp_id_token: Mapped[str | None] = mapped_column(Encrypted)
    idp_refresh_token: Mapped[str | None] = mapped_column(Encrypted)
    # mock_sf's built-in handler takes each IdP access or ID token once (it spends the jti):
    # once one of this set is sent, a new exchange needs fresh ones from the refresh token.
    idp_token_sent: Mapped[bool] = mapped_column(default=False)

    # SAML logins: the signed assertion (base64url, as signed) and what single logout names.
    saml_assertion: Mapped[str | None] = mapped_column(Encrypted)
    saml_not_on_or_after: Mapped[int | None]
    saml_assertion_sent: Mapped[bool] = mapped_column(default=False)
    saml_name_id: Mapped[str | None] = mapped_column(String(255), index=True)
    saml_name_id_format: Mapped[str | None] = mapped_column(String(255))
    saml_session_index: Mapped[str | None] = mapped_column(String(255))

    # Who may renew this login's tokens right now (see lease.py), and until when.
    renewal_lease: Mapped[str | None] = mapped_column(String(32))
    renewal_lease_until: Mapped[int | None]

    # The Salesforce session exchanged for the IdP token, cached until Salesforce drops it.
    sf_access_token: Mapped[str | None] = mapped_column(Encrypted)
    sf_refresh_token: Mapped[str | None] = mapped_column(Encrypted)
    sf_instance_url: Mapped[str | None] = mapped_column(String(255))
    sf_identity_url: Mapped[str | None] = mapped_column(String(255))
    sf_user_id: Mapped[str | None] = mapped_column(String(18))
    sf_contact_id: Mapped[str | None] = mapped_column(String(18))
    sf_issued_at: Mapped[str | None] = mapped_column(String(20))

    def idp_token_expired(self, now: float | None = None) -> bool:
        """Whether the IdP access token can no longer be used."""
        expires_at = self.idp_access_token_expires_at or 0
        return (time.time() if now is None else now) >= expires_at

    def keep_idp_tokens(self, token: Mapping[str, Any]) -> None:
        """Store the IdP's token response (at login or refresh)."""
        self.idp_access_token = token["access_token"]
        self.idp_access_token_expires_at = int(
            token.get("expires_at") or time.time() + FALLBACK_TOKEN_LIFETIME
        )
        self.idp_token_sent = False
        # A refresh may bring a new ID token (OIDC Core §12.2); it is the one to exchange next.
        self.idp_id_token = token.get("id_token") or self.idp_id_token
        # The IdP rotates refresh tokens; one that does not keeps the old one valid (RFC 6749 §6).
        self.idp_refresh_token = token.get("refresh_token") or self.idp_refresh_token

    def cache_salesforce(self, token: SalesforceToken, contact_id: str | None = None) -> None:
        """Keep a Salesforce session for the next requests of this login."""
        self.sf_access_token = token.access_token
        self.sf_refresh_token = token.refresh_token or self.sf_refresh_token
        self.sf_instance_url = token.instance_url
        self.sf_identity_url = token.identity_url
        self.sf_user_id = token.user_id
        self.sf_issued_at = token.issued_at
        if contact_id is not None:
            self.sf_contact_id = contact_id


class Draft(db.Model):
    """What a speaker typed into a form that could not be sent, kept until it is sent."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # A random key in this browser's session cookie: the draft outlives the login it began in.
    owner: Mapped[str] = mapped_column(String(64), index=True)
    form: Mapped[str] = mapped_column(String(255))  # the path the form posts to
    fields: Mapped[dict[str, str]] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(default=_utcnow)

    __table_args__ = (UniqueConstraint("owner", "form"),)


def init_app(app: Flask) -> None:
    """Bind the database to the app and add the `init-db` and `db` commands."""
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite":
        # A database server that restarted leaves every pooled connection dead: each one is
        # checked as it leaves the pool, so no request after the restart fails on a dead one.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {}).setdefault("pool_pre_ping", True)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        else:
            event.listen(db.engine, "handle_error", _server_ended_connection)
    # Runs before Flask-SQLAlchemy's teardown, where a rollback that fails would become a 500.
    app.teardown_appcontext(_end_session)
    app.cli.add_command(init_db_command)
    app.cli.add_command(migrations.db_command)


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


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


@click.command("init-db")
@with_appcontext
@click.option("--demo", is_flag=True, help="Accepted for the launcher; the portal seeds nothing.")
def init_db_command(demo: bool) -> None:
    """Migrate the portal's schema to head (idempotent)."""
    # No demo rows: speakers and cases live at the IdP and in Salesforce; users appear on login.
    with db.engine.begin() as connection:
        migrations.upgrade(connection)  # a database from before Alembic too (0001)
