"""Throttles at the token endpoint: refused subject tokens per subject within a connected app
(checklist #12), and wrong client secrets per app and client address.

Subject tokens: only a client that has authenticated is counted, and only when its subject token
reaches a handler and is refused. The key is the token's subject (issuer and ``sub`` read from the
unverified JWT, else a SHA-256 fingerprint of the token) within the app, so one speaker's bad
tokens lock out that speaker only; the app as a whole has a far higher ceiling.

Client secrets (failed_credentials.py): a wrong secret is counted against the app at the client's
address, so a guesser locks out its own address and not the app's real client elsewhere; the app
at every address has a far higher ceiling. While locked, no secret is checked, the right one
included. Every endpoint that checks a secret (token, introspection) is covered.

Both answer 429 ``invalid_request`` "too many failed attempts, try again later" with Retry-After.
A refused-because-locked attempt is not counted, so hammering a lock does not extend it. Failures
are rows in the database, so every worker process and host sees them; old rows are pruned by
``flask --app mock_sf prune``, never on the request path. A limit of 0 turns that level off.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy import Index
from sqlalchemy import ScalarSelect
from sqlalchemy import Select
from sqlalchemy import String
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_sf import failed_credentials
from mock_sf.failed_credentials import Level
from mock_sf.models import Base
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.oauth.client_auth import ClientCredentials
from mock_sf.oauth.client_auth import WrongClientSecret
from mock_sf.oauth.client_auth import authenticate_client
from mock_sf.oauth.errors import TooManyFailures
from mock_sf.org_config import AppSettings
from mock_sf.org_config import OrgConfig

MAX_SUBJECT_LENGTH = 512
FINGERPRINT_PREFIX = "sha256:"


class SubjectTokenFailure(Base):
    """One subject token a handler refused, counted against its subject within its app."""

    __tablename__ = "subject_token_failure"
    __table_args__ = (
        Index("ix_subject_token_failure_subject", "client_id", "subject", "created_at"),
        Index("ix_subject_token_failure_app", "client_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(255))  # the app's consumer key
    # "<iss>|<sub>" or "sha256:<hex>"; NULL only on rows older than the column (never matched).
    subject: Mapped[str | None] = mapped_column(String(MAX_SUBJECT_LENGTH))
    remote_addr: Mapped[str] = mapped_column(String(64))  # for the audit, not the key
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)


@dataclass(frozen=True)
class Limits:
    """Failures allowed per subject and per app within the window (0 = that level is off)."""

    per_subject: int
    per_app: int
    window: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """SUBJECT_TOKEN_FAILURE_LIMIT, _APP_LIMIT and _WINDOW_SECONDS."""
        return cls(
            per_subject=config["SUBJECT_TOKEN_FAILURE_LIMIT"],
            per_app=config["SUBJECT_TOKEN_FAILURE_APP_LIMIT"],
            window=config["SUBJECT_TOKEN_FAILURE_WINDOW_SECONDS"],
        )


@dataclass(frozen=True)
class Counts:
    """Failures inside the window, and the oldest of them, for the subject and for the app."""

    subject: int = 0
    subject_oldest: datetime | None = None
    app: int = 0
    app_oldest: datetime | None = None


def current_time() -> datetime:
    """Now, as the throttle sees it (tests freeze it here)."""
    return utcnow()


def subject_key(token: str) -> str:
    """``<iss>|<sub>`` of a JWT, read without verifying it; else the token's fingerprint."""
    _, _, rest = token.partition(".")
    payload, dot, _ = rest.partition(".")
    claims: Any = None
    if dot:
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (binascii.Error, ValueError):
            claims = None
    if isinstance(claims, dict):
        issuer, subject = claims.get("iss"), claims.get("sub")
        if isinstance(issuer, str) and isinstance(subject, str):
            key = f"{issuer}|{subject}"
            if len(key) <= MAX_SUBJECT_LENGTH:
                return key
    return FINGERPRINT_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def count_columns() -> tuple[ScalarSelect[Any], ...]:
    """Scalar subqueries for Counts, to be selected with whatever else the caller reads.

    Bound by name: ``client_id``, ``subject`` and ``since`` (the window's start); see count_params.
    """
    in_app = (
        SubjectTokenFailure.client_id == bindparam("client_id"),
        SubjectTokenFailure.created_at > bindparam("since", type_=DateTime()),
    )
    of_subject = (*in_app, SubjectTokenFailure.subject == bindparam("subject"))
    return (
        select(func.count()).where(*of_subject).scalar_subquery(),
        select(func.min(SubjectTokenFailure.created_at)).where(*of_subject).scalar_subquery(),
        select(func.count()).where(*in_app).scalar_subquery(),
        select(func.min(SubjectTokenFailure.created_at)).where(*in_app).scalar_subquery(),
    )


def count_params(client_id: str, subject: str, limits: Limits, now: datetime) -> dict[str, Any]:
    """The values count_columns is bound to."""
    return {
        "client_id": client_id,
        "subject": subject,
        "since": now - timedelta(seconds=limits.window),
    }


@cache
def _counts_statement() -> Select[Any]:
    return select(*count_columns())


def read_counts(client_id: str, subject: str, limits: Limits, now: datetime) -> Counts:
    """The Counts in one SELECT (when nothing else needs reading with them)."""
    params = count_params(client_id, subject, limits, now)
    return Counts(*db.session.execute(_counts_statement(), params).one())


def check(counts: Counts, limits: Limits, now: datetime, client_id: str, subject: str) -> None:
    """Raise TooManyFailures when the subject, or the whole app, is over its limit."""
    levels = (
        Level(f"for {subject}", limits.per_subject, counts.subject, counts.subject_oldest),
        Level("for the app", limits.per_app, counts.app, counts.app_oldest),
    )
    locked = failed_credentials.retry_after(levels, limits.window, now)
    if locked is not None:
        seconds, level = locked
        raise TooManyFailures(
            seconds,
            reason=f"{level.count} invalid subject tokens {level.name} of {client_id}"
            f" in {limits.window}s",
        )


def record_failure(client_id: str, subject: str, remote_addr: str, now: datetime) -> None:
    """Count one refused subject token (the caller commits)."""
    db.session.execute(
        insert(SubjectTokenFailure).values(
            client_id=client_id, subject=subject, remote_addr=remote_addr[:64], created_at=now
        )
    )


def prune(window: int, now: datetime | None = None) -> int:
    """Delete the failures that left the window; return how many (the caller commits)."""
    cutoff = (now or current_time()) - timedelta(seconds=window)
    result = db.session.execute(
        delete(SubjectTokenFailure).where(SubjectTokenFailure.created_at <= cutoff)
    )
    return result.rowcount or 0


def secret_limits(config: Mapping[str, Any]) -> failed_credentials.Limits:
    """CLIENT_SECRET_FAILURE_LIMIT (an app at one address), _APP_LIMIT and _WINDOW_SECONDS."""
    return failed_credentials.Limits(
        window=config["CLIENT_SECRET_FAILURE_WINDOW_SECONDS"],
        at_address=config["CLIENT_SECRET_FAILURE_LIMIT"],
        principal=config["CLIENT_SECRET_FAILURE_APP_LIMIT"],
    )


def secret_count_columns() -> tuple[ScalarSelect[Any], ...]:
    """The client-secret levels' scalar subqueries (see failed_credentials.count_columns)."""
    return failed_credentials.count_columns(with_address=False)


def secret_count_params(
    client_id: str, address: str, limits: failed_credentials.Limits, now: datetime
) -> dict[str, Any]:
    """The values secret_count_columns is bound to."""
    return failed_credentials.count_params(
        failed_credentials.CLIENT_SECRET, client_id, address, limits, now
    )


def check_client_secrets(
    levels: list[Level],
    limits: failed_credentials.Limits,
    now: datetime,
    client_id: str,
    address: str,
) -> None:
    """Raise TooManyFailures while the app is locked at this address or everywhere."""
    locked = failed_credentials.retry_after(levels, limits.window, now)
    if locked is not None:
        seconds, level = locked
        raise TooManyFailures(
            seconds,
            reason=f"{level.count} wrong client secrets for {client_id} {level.name}"
            f" ({address}) in {limits.window}s",
        )


def record_client_secret_failure(client_id: str, address: str, now: datetime) -> None:
    """Count one wrong client secret (the caller commits)."""
    failed_credentials.record_failure(failed_credentials.CLIENT_SECRET, client_id, address, now)


def authenticate_client_throttled(
    credentials: ClientCredentials,
    org: OrgConfig,
    address: str,
    config: Mapping[str, Any],
    secret_required: Callable[[AppSettings], bool],
) -> AppSettings:
    """authenticate_client under the client-secret throttle, for an endpoint that reads nothing
    else first (refresh, introspection); a wrong secret is counted and committed."""
    limits, now, client_id = secret_limits(config), current_time(), credentials.client_id or ""
    levels = failed_credentials.read_levels(
        failed_credentials.CLIENT_SECRET, client_id, address, limits, now
    )
    check_client_secrets(levels, limits, now, client_id, address)
    try:
        return authenticate_client(credentials, org, secret_required)
    except WrongClientSecret:
        record_client_secret_failure(client_id, address, now)
        db.session.commit()
        raise
