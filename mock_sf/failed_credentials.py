"""Failed credentials, counted: Setup passwords and connected-app client secrets.

The subject-token throttle's mechanism (oauth/throttle.py), for principals that have a secret:
every failure is a row; a level is locked while it holds `limit` failures inside the sliding
window, until the oldest of them leaves it (that is the Retry-After); an attempt refused because
of a lock is neither checked nor counted, so hammering a lock does not extend it; a limit of 0
turns a level off. Rows are shared by every worker and host and pruned by
``flask --app mock_sf prune``, never on the request path.

Three levels per kind. The principal (a Setup username, a consumer key) at one client address:
a guesser locks out its own address, never the owner at hers. The principal at every address:
a far higher ceiling on guessing spread over many addresses, which does stop the owner too.
The client address across principals (Setup only): one address trying many usernames. The
address is the socket's, or X-Forwarded-For's behind ``SF_TRUSTED_PROXIES`` (ProxyFix).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy import Index
from sqlalchemy import ScalarSelect
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

SETUP_LOGIN = "setup_login"
CLIENT_SECRET = "client_secret"
MAX_PRINCIPAL_LENGTH = 255
MAX_ADDRESS_LENGTH = 64


class CredentialFailure(Base):
    """One wrong password or client secret, counted against its principal and client address."""

    __tablename__ = "credential_failure"
    __table_args__ = (
        Index("ix_credential_failure_principal", "kind", "principal", "remote_addr", "created_at"),
        Index("ix_credential_failure_address", "kind", "remote_addr", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # SETUP_LOGIN or CLIENT_SECRET
    principal: Mapped[str] = mapped_column(String(MAX_PRINCIPAL_LENGTH))
    remote_addr: Mapped[str] = mapped_column(String(MAX_ADDRESS_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)


@dataclass(frozen=True)
class Limits:
    """Failures allowed within `window` seconds per level (0 = that level is off)."""

    window: int
    at_address: int  # the principal at one client address
    principal: int  # the principal at every address
    address: int = 0  # the client address across principals


@dataclass(frozen=True)
class Level:
    """One level's failures inside the window: how many, and the oldest of them."""

    name: str
    limit: int
    count: int
    oldest: datetime | None


def current_time() -> datetime:
    """Now, as these throttles see it (tests freeze it here)."""
    return utcnow()


def principal_key(kind: str, principal: str) -> str:
    """The stored principal: usernames compare case-insensitively; consumer keys as given."""
    key = principal.strip().lower() if kind == SETUP_LOGIN else principal
    return key[:MAX_PRINCIPAL_LENGTH]


def retry_after(levels: Iterable[Level], window: int, now: datetime) -> tuple[int, Level] | None:
    """Seconds until every locked level lets an attempt through, and the level that decides;
    None when no level is locked."""
    waits = [
        (max(1, int((level.oldest + timedelta(seconds=window) - now).total_seconds()) + 1), level)
        for level in levels
        if level.limit > 0 and level.count >= level.limit and level.oldest is not None
    ]
    return max(waits, key=lambda wait: wait[0]) if waits else None


def count_columns(with_address: bool) -> tuple[ScalarSelect[Any], ...]:
    """Scalar subqueries (count, oldest) per level, to be selected with whatever else the caller
    reads; bound by name: ``cf_kind``, ``cf_principal``, ``cf_address``, ``cf_since``."""
    kind = CredentialFailure.kind == bindparam("cf_kind")
    since = CredentialFailure.created_at > bindparam("cf_since", type_=DateTime())
    principal = CredentialFailure.principal == bindparam("cf_principal")
    address = CredentialFailure.remote_addr == bindparam("cf_address")
    groups = [(kind, principal, address, since), (kind, principal, since)]
    if with_address:
        groups.append((kind, address, since))
    columns: list[ScalarSelect[Any]] = []
    for where in groups:
        columns.append(select(func.count()).where(*where).scalar_subquery())
        columns.append(
            select(func.min(CredentialFailure.created_at)).where(*where).scalar_subquery()
        )
    return tuple(columns)


def count_params(
    kind: str, principal: str, address: str, limits: Limits, now: datetime
) -> dict[str, Any]:
    """The values count_columns is bound to."""
    return {
        "cf_kind": kind,
        "cf_principal": principal_key(kind, principal),
        "cf_address": address[:MAX_ADDRESS_LENGTH],
        "cf_since": now - timedelta(seconds=limits.window),
    }


def levels(values: Sequence[Any], limits: Limits) -> list[Level]:
    """The Levels from the values count_columns selected, in its order."""
    names = [("at this address", limits.at_address), ("in all", limits.principal)]
    names.append(("from this address", limits.address))
    return [
        Level(name, limit, values[2 * i] or 0, values[2 * i + 1])
        for i, (name, limit) in enumerate(names[: len(values) // 2])
    ]


def read_levels(
    kind: str, principal: str, address: str, limits: Limits, now: datetime
) -> list[Level]:
    """The Levels in one SELECT (when nothing else needs reading with them)."""
    statement = select(*count_columns(with_address=limits.address > 0))
    values = db.session.execute(statement, count_params(kind, principal, address, limits, now))
    return levels(values.one(), limits)


def record_failure(kind: str, principal: str, address: str, now: datetime) -> None:
    """Count one failure (the caller commits)."""
    db.session.execute(
        insert(CredentialFailure).values(
            kind=kind,
            principal=principal_key(kind, principal),
            remote_addr=address[:MAX_ADDRESS_LENGTH],
            created_at=now,
        )
    )


def forget_at_address(kind: str, principal: str, address: str) -> None:
    """A success clears the principal's failures at this address (the caller commits); the
    other levels keep theirs, so a guesser cannot reset a count with credentials of its own."""
    db.session.execute(
        delete(CredentialFailure).where(
            CredentialFailure.kind == kind,
            CredentialFailure.principal == principal_key(kind, principal),
            CredentialFailure.remote_addr == address[:MAX_ADDRESS_LENGTH],
        )
    )


def prune(windows: Mapping[str, int], now: datetime | None = None) -> int:
    """Delete the failures that left their kind's window; return how many (the caller commits)."""
    moment = now or current_time()
    deleted = 0
    for kind, window in windows.items():
        cutoff = moment - timedelta(seconds=window)
        result = db.session.execute(
            delete(CredentialFailure).where(
                CredentialFailure.kind == kind, CredentialFailure.created_at <= cutoff
            )
        )
        deleted += result.rowcount or 0
    return deleted
