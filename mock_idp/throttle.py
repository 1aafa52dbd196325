"""Throttles: sign-in failures lock an account or client address; account mail has a budget.

Sign-in failures are counted three ways, each with its own limit within the window: per account
and client address (5: the guesser's address is locked, the owner signing in from anywhere else
is not), per account across all addresses (100: a ceiling on guessing spread over many
addresses, which does lock the owner out too until the lock lapses or she resets her password),
and per client address across accounts (20). Registration and forgot-password requests past a
limit per target email or per client address send no mail (the pages answer as usual, so the
limit tells nothing about which accounts exist).

Counters live in the database, so every process serving the IdP sees the same ones. Accounts are
keyed by the normalized email as typed, whether or not such an account exists, so a lock says
nothing about which addresses are registered. The client address is the socket's, or the one
X-Forwarded-For names only behind IDP_TRUSTED_PROXIES (ProxyFix in the factory).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
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

ACCOUNT_AT_ADDRESS = "acct@addr"  # key: the email; address: the client address
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
    address: Mapped[str | None] = mapped_column(String(254))  # scope ACCOUNT_AT_ADDRESS only
    at: Mapped[int] = mapped_column(index=True)


class LoginLock(db.Model):
    """An account (from one address or all), or a client address, that may not sign in until
    `until` (epoch seconds)."""

    __tablename__ = "login_locks"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str | None] = mapped_column(String(254))  # scope ACCOUNT_AT_ADDRESS only
    until: Mapped[int]


@dataclass(frozen=True)
class Limits:
    """How many failures within `window` seconds lock for `lockout`: an account at one client
    address, an account at every address together, a client address across accounts."""

    window: int
    lockout: int
    per_account_and_address: int
    per_account: int
    per_address: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """The limits from the LOGIN_* config keys."""
        return cls(
            window=int(config["LOGIN_FAILURE_WINDOW"]),
            lockout=int(config["LOGIN_LOCKOUT"]),
            per_account_and_address=int(config["LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS"]),
            per_account=int(config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]),
            per_address=int(config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
        )


@dataclass(frozen=True)
class _Subject:
    """What one counter is kept for: scope, key, and (per account and address) the address."""

    scope: str
    key: str
    address: str | None
    limit: int

    def matches(self, model: type[LoginFailure] | type[LoginLock]) -> ColumnElement[bool]:
        """The rows of `model` that count for this subject."""
        this = and_(model.scope == self.scope, model.key == self.key)
        return this if self.address is None else and_(this, model.address == self.address)


def address_key(address: str | None) -> str:
    """The stored client address: "unknown" without one, cut to the column (a proxy may forward
    anything)."""
    return (address or "unknown")[:254]


def _subjects(email: str, address: str | None, limits: Limits) -> list[_Subject]:
    account, address = users.normalize_email(email), address_key(address)
    return [
        _Subject(ACCOUNT_AT_ADDRESS, account, address, limits.per_account_and_address),
        _Subject(ACCOUNT, account, None, limits.per_account),
        _Subject(ADDRESS, address, None, limits.per_address),
    ]


def retry_after(email: str, address: str | None, limits: Limits, now: int) -> int | None:
    """Seconds until this account may be tried from this address; None when nothing is locked."""
    matches = [subject.matches(LoginLock) for subject in _subjects(email, address, limits)]
    until = db.session.scalar(
        select(func.max(LoginLock.until)).where(or_(*matches), LoginLock.until > now)
    )
    return None if until is None else until - now


def record_failure(email: str, address: str | None, limits: Limits, now: int) -> None:
    """Count a failed sign-in; lock what reached its limit within the window (and commit)."""
    for subject in _subjects(email, address, limits):
        this = subject.matches(LoginFailure)
        db.session.execute(delete(LoginFailure).where(this, LoginFailure.at <= now - limits.window))
        db.session.add(
            LoginFailure(scope=subject.scope, key=subject.key, address=subject.address, at=now)
        )
        db.session.flush()
        failures = db.session.scalar(select(func.count()).select_from(LoginFailure).where(this))
        if failures >= subject.limit:
            lapsed = and_(subject.matches(LoginLock), LoginLock.until <= now)
            db.session.execute(delete(LoginLock).where(lapsed))
            db.session.add(
                LoginLock(
                    scope=subject.scope,
                    key=subject.key,
                    address=subject.address,
                    until=now + limits.lockout,
                )
            )
            # The lock is the consequence; after it the count starts again from zero.
            db.session.execute(delete(LoginFailure).where(this))
    db.session.commit()


def record_success(email: str, address: str | None) -> None:
    """A successful sign-in clears the account's failures at this address, and commits.

    The address's failures stay (else a guesser could reset its count by signing in to an account
    of its own between guesses), and so do the account's at all addresses (else the owner's
    sign-in would reset the count of a guesser spread over many addresses).
    """
    pair = _Subject(ACCOUNT_AT_ADDRESS, users.normalize_email(email), address_key(address), 0)
    db.session.execute(delete(LoginFailure).where(pair.matches(LoginFailure)))
    db.session.commit()


def unlock_account(email: str) -> None:
    """Forget an account's failures and locks at every address, after its owner proved control
    of the email."""
    key = users.normalize_email(email)
    scopes = (ACCOUNT, ACCOUNT_AT_ADDRESS)
    db.session.execute(
        delete(LoginFailure).where(LoginFailure.scope.in_(scopes), LoginFailure.key == key)
    )
    db.session.execute(delete(LoginLock).where(LoginLock.scope.in_(scopes), LoginLock.key == key))


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
        (MAIL_ADDRESS, address_key(address), limits.per_address),
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
