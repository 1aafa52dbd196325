"""Database singleton and the IdP's typed models (users, OIDC clients, authorization codes)."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask
from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import event
from sqlalchemy import make_url
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column


class Base(DeclarativeBase):
    """Declarative base for the IdP's tables."""


db = SQLAlchemy(model_class=Base)


def sha256_hex(value: str) -> str:
    """Digest under which secrets and codes are stored (they have enough entropy for no salt)."""
    return hashlib.sha256(value.encode()).hexdigest()


class User(db.Model):
    """A person in the directory; `id` is the stable OIDC subject (Okta-style `00u...`)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    email_verified: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(200))
    speaker_id: Mapped[str | None] = mapped_column(String(40))
    talks: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[int]


class Client(db.Model):
    """A registered OIDC relying party: confidential (a client secret) or public (method none)."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64))  # None for public clients
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    # Columns added after the table first shipped carry server defaults (migration 0001).
    token_endpoint_auth_method: Mapped[str] = mapped_column(
        String(40), default="client_secret_basic", server_default="client_secret_basic"
    )
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    # A resource server (e.g. Salesforce's handler) may introspect tokens issued to these clients.
    introspects_for: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[int | None]


class AuthorizationCode(db.Model):
    """An issued code and everything the token request must be checked against."""

    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(String(500))
    nonce: Mapped[str | None] = mapped_column(String(500))
    code_challenge: Mapped[str] = mapped_column(String(128))
    auth_time: Mapped[int]
    expires_at: Mapped[int]
    consumed_at: Mapped[int | None]
    sid: Mapped[str | None] = mapped_column(String(32))  # the IdP session it was issued in


def init_app(app: Flask) -> None:
    """Bind the database and, for SQLite, set the pragmas the hot path relies on."""
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL + NORMAL: readers never block the writer and commits skip an fsync (DESIGN.md).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
