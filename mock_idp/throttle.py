"""Throttles: sign-in failures lock an account or client address; account mail has a budget.

Too many failed sign-ins for one account or one client address lock it for a while. Registration
and forgot-password requests past a limit per target email or per client address send no mail
(the pages answer as usual, so the limit tells nothing about which accounts exist).

Counters live in the database, so every process serving the IdP sees the same ones. Accounts are
keyed by the normalized email as typed, whether or not such an account exists, so a lock says
nothing about which addresses are registered.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_idp import users
from mock_idp.models import db

ACCOUNT = "account"
ADDRESS = "address"
# Requests that would send account mail, counted in the same table (scope fits String(10)).
MAIL_EMAIL = "mail:email"
MAIL_ADDRESS = "mail:addr"

logger = logging.getLogger(__name__)


class LoginFailure(db.Model):
    """One failed sign-in (or account-mail request, by `scope`), counted against a key."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(254), index=True)
    at: Mapped[int] = mapped_column(index=True)


class LoginLock(db.Model):
    """An account or client address that may not sign in until `until` (epoch seconds)."""

    __tablename__ = "login_locks"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(254), index=True)
    until: Mapped[int]


@dataclass(frozen=True)
class Limits:
    """How many failures within `window` seconds lock an account or address for `lockout`."""

    window: int
    lockout: int
    per_account: int
    per_address: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """The limits from the LOGIN_* config keys."""
        return cls(
            window=int(config["LOGIN_FAILURE_WINDOW"]),
            lockout=int(config["LOGIN_LOCKOUT"]),
            per_account=int(config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]),
            per_address=int(config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
        )


def _subjects(email: str, address: str | None, limits: Limits) -> list[tuple[str, str, int]]:
    return [
        (ACCOUNT, users.normalize_email(email), limits.per_account),
        (ADDRESS, address or "unknown", limits.per_address),
    ]


def retry_after(email: str, address: str | None, limits: Limits, now: int) -> int | None:
    """Seconds until this account and address may try again; None when neither is locked."""
    matches = [
        and_(LoginLock.scope == scope, LoginLock.key == key)
        for scope, key, _ in _subjects(email, address, limits)
    ]
    until = db.session.scalar(
        select(func.max(LoginLock.until)).where(or_(*matches), LoginLock.until > now)
    )
    return None if until is None else until - now


def record_failure(email: str, address: str | None, limits: Limits, now: int) -> None:
    """Count a failed sign-in; lock what reached its limit within the window (and commit)."""
    for scope, key, limit in _subjects(email, address, limits):
        this = and_(LoginFailure.scope == scope, LoginFailure.key == key)
        db.session.execute(delete(LoginFailure).where(this, LoginFailure.at <= now - limits.window))
        db.session.add(LoginFailure(scope=scope, key=key, at=now))
        db.session.flush()
        failures = db.session.scalar(select(func.count()).select_from(LoginFailure).where(this))
        if failures >= limit:
            db.session.execute(
                delete(LoginLock).where(
                    LoginLock.scope == scope, LoginLock.key == key, LoginLock.until <= now
                )
            )
            db.session.add(LoginLock(scope=scope, key=key, until=now + limits.lockout))
            # The lock is the consequence; after it the count starts again from zero.
            db.session.execute(delete(LoginFailure).where(this))
    db.session.commit()


def record_success(email: str) -> None:
    """A successful sign-in clears the account's failures and commits.

    The address's failures stay: otherwise a guesser could reset its count by signing in to an
    account of its own between guesses.
    """
    db.session.execute(
        delete(LoginFailure).where(
            LoginFailure.scope == ACCOUNT, LoginFailure.key == users.normalize_email(email)
        )
    )
    db.session.commit()


def unlock_account(email: str) -> None:
    """Forget an account's failures and locks, after its owner proved control of the email."""
    key = users.normalize_email(email)
    db.session.execute(
        delete(LoginFailure).where(LoginFailure.scope == ACCOUNT, LoginFailure.key == key)
    )
    db.session.execute(delete(LoginLock).where(LoginLock.scope == ACCOUNT, LoginLock.key == key))


@dataclass(frozen=True)
class MailLimits:
    """How many account-mail requests within `window` seconds a target email or address gets."""

    window: int
    per_email: int
    per_address: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailLimits:
        """The limits from the ACCOUNT_MAIL_* config keys."""
        return cls(
            window=int(config["ACCOUNT_MAIL_WINDOW"]),
            per_email=int(config["ACCOUNT_MAIL_MAX_PER_EMAIL"]),
            per_address=int(config["ACCOUNT_MAIL_MAX_PER_ADDRESS"]),
        )


def allow_account_mail(
    purpose: str, email: str, address: str | None, limits: MailLimits, now: int
) -> bool:
    """Count a request that would mail `email`; False, counting nothing, past either limit.

    Refused requests are not counted, so a flood cannot keep the window full for ever; the
    caller answers as usual either way. Commits.
    """
    subjects = [
        (MAIL_EMAIL, users.normalize_email(email), limits.per_email),
        (MAIL_ADDRESS, address or "unknown", limits.per_address),
    ]
    over = []
    for scope, key, limit in subjects:
        this = and_(LoginFailure.scope == scope, LoginFailure.key == key)
        db.session.execute(delete(LoginFailure).where(this, LoginFailure.at <= now - limits.window))
        count = db.session.scalar(select(func.count()).select_from(LoginFailure).where(this))
        if count >= limit:
            over.append(scope)
    if not over:
        db.session.add_all(LoginFailure(scope=scope, key=key, at=now) for scope, key, _ in subjects)
    db.session.commit()
    if over:
        logger.warning(
            "account mail throttled (%s): no mail to %s, request from %s, over the %s limit",
            purpose,
            users.normalize_email(email),
            address or "unknown",
            " and ".join(over),
        )
    return not over
