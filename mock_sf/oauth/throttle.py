"""Throttling of invalid subject tokens per subject within a connected app (checklist #12).

Only a client that has authenticated is counted, and only when its subject token reaches a handler
and is refused. The key is the token's subject (issuer and ``sub`` read from the unverified JWT,
else a SHA-256 fingerprint of the token) within the app, so one speaker's bad tokens lock out
that speaker only; the app as a whole has a far higher ceiling. A refused-because-locked attempt
is not counted, so hammering a lock does not extend it. Failures are rows in the database, so
every worker process and host sees them; old rows are pruned by ``flask --app mock_sf prune``,
never on the request path. A limit of 0 turns that level off.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
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

from mock_sf.models import Base
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.oauth.errors import TooManyFailures

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
        (limits.per_subject, counts.subject, counts.subject_oldest, f"for {subject}"),
        (limits.per_app, counts.app, counts.app_oldest, "for the app"),
    )
    for limit, count, oldest, who in levels:
        if limit > 0 and count >= limit and oldest is not None:
            left = oldest + timedelta(seconds=limits.window) - now
            raise TooManyFailures(
                max(1, int(left.total_seconds()) + 1),
                reason=f"{count} invalid subject tokens {who} of {client_id} in {limits.window}s",
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
