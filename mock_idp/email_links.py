"""Single-use, expiring links sent by email (verify an address, reset a password).

The token travels only in the emailed URL; the database keeps its SHA-256 digest, so a leaked
database row cannot be turned back into a working link.
"""

from __future__ import annotations

import enum
import secrets

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_idp.models import db
from mock_idp.models import sha256_hex

MAX_TOKEN_LENGTH = 100  # token_urlsafe(32) is 43 characters; longer input is never ours


class Purpose(enum.StrEnum):
    """What a link may be used for; a token only ever works for its own purpose."""

    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"


class EmailLink(db.Model):
    """An issued link: whose, for what, until when, and whether it was used."""

    __tablename__ = "email_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[int]
    expires_at: Mapped[int]
    used_at: Mapped[int | None]


def issue(user_id: str, purpose: Purpose, lifetime: int, now: int) -> str:
    """Store a new link for `user_id` and return its token (the caller commits)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        EmailLink(
            token_hash=sha256_hex(token),
            purpose=purpose.value,
            user_id=user_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def find_usable(token: str, purpose: Purpose, now: int) -> EmailLink | None:
    """The unused, unexpired link for `token` and `purpose`, without using it."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(
        select(EmailLink).where(
            EmailLink.token_hash == sha256_hex(token),
            EmailLink.purpose == purpose.value,
            EmailLink.used_at.is_(None),
            EmailLink.expires_at > now,
        )
    )


def consume(token: str, purpose: Purpose, now: int) -> str | None:
    """Mark the link used and return its user id; None if it is unknown, expired or used.

    One conditional UPDATE decides, so two concurrent clicks (even from two processes) cannot both
    succeed. The caller commits.
    """
    link = find_usable(token, purpose, now)
    if link is None:
        return None
    claimed = db.session.execute(
        update(EmailLink)
        .where(EmailLink.id == link.id, EmailLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return link.user_id if claimed.rowcount == 1 else None


def revoke_outstanding(user_id: str, purpose: Purpose, now: int) -> None:
    """Use up every open link of `user_id` for `purpose` (the caller commits)."""
    db.session.execute(
        update(EmailLink)
        .where(
            EmailLink.user_id == user_id,
            EmailLink.purpose == purpose.value,
            EmailLink.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
