"""Throttling of invalid subject tokens per client and address (security checklist #12).

Failures are rows in the database (so every worker process sees them); once a client/address pair
has SUBJECT_TOKEN_FAILURE_LIMIT failures inside the window, further exchanges get a 429 until the
oldest one leaves the window. A limit of 0 turns throttling off.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from sqlalchemy import DateTime
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_sf.models import Base
from mock_sf.models import db
from mock_sf.oauth.errors import TooManyFailures


class SubjectTokenFailure(Base):
    """One refused subject token, counted against its client and address."""

    __tablename__ = "subject_token_failure"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(255))
    remote_addr: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)


def check(client_id: str, remote_addr: str, limit: int, window: int, now: datetime) -> None:
    """Raise TooManyFailures when the pair is over its limit within the window."""
    if limit <= 0:
        return
    since = now - timedelta(seconds=window)
    count, oldest = db.session.execute(
        select(func.count(), func.min(SubjectTokenFailure.created_at)).where(
            SubjectTokenFailure.client_id == client_id,
            SubjectTokenFailure.remote_addr == remote_addr,
            SubjectTokenFailure.created_at > since,
        )
    ).one()
    if count >= limit:
        retry_after = max(1, int((oldest - since).total_seconds()) + 1)
        raise TooManyFailures(
            retry_after,
            reason=f"{count} invalid subject tokens from {client_id}@{remote_addr} in {window}s",
        )


def record_failure(client_id: str, remote_addr: str, window: int, now: datetime) -> None:
    """Count one failure (the caller commits), dropping the pair's rows that left the window."""
    db.session.execute(
        delete(SubjectTokenFailure).where(
            SubjectTokenFailure.client_id == client_id,
            SubjectTokenFailure.remote_addr == remote_addr,
            SubjectTokenFailure.created_at <= now - timedelta(seconds=window),
        )
    )
    db.session.add(
        SubjectTokenFailure(client_id=client_id, remote_addr=remote_addr, created_at=now)
    )
