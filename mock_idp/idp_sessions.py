"""The IdP session, kept server-side: one row per sign-in; the `idp_session` cookie names its id.

A signed cookie that carried the user and auth_time could not be taken back: a copy made before
the speaker signed out, or before her password was reset, kept working. Now every use looks the
row up by its primary key (one SELECT, joined with the user) and a row that has ended, or is
older than SESSION_LIFETIME, signs nobody in. Signing out ends the row; a password reset ends
every row of the account; single logout ends the rows that served its SAML session. Rows live in
the database, so every worker and host agrees at once.
"""

from __future__ import annotations

import secrets

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_idp.models import User
from mock_idp.models import db


class IdpSession(db.Model):
    """One sign-in at the IdP: whose, when they proved it, and whether it has ended."""

    __tablename__ = "idp_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Epoch seconds with a fraction: tells a sign-in for a pending request from an older one.
    auth_time: Mapped[float]
    created_at: Mapped[int] = mapped_column(index=True)
    ended_at: Mapped[int | None]
    # The SAML session (saml/sessions.py) this sign-in served: single logout ends this row even
    # when the logout reaches the IdP without the cookie (a cross-site POST).
    saml_session_index: Mapped[str | None] = mapped_column(String(40), index=True)
    # The public name of this session, the ID tokens' `sid` (OIDC Front-Channel Logout §3): an
    # RP-initiated logout posted cross-site arrives without the cookie, and its id_token_hint's
    # sid says which session to end. Not the row id: that one is the cookie's secret.
    sid: Mapped[str | None] = mapped_column(String(32), unique=True)


def new_id() -> str:
    """An unguessable session id (the cookie is signed as well)."""
    return secrets.token_urlsafe(32)


def open_session(user_id: str, auth_time: float, lifetime: int) -> IdpSession:
    """Record a new sign-in, dropping rows older than `lifetime` (the caller commits)."""
    now = int(auth_time)
    db.session.execute(delete(IdpSession).where(IdpSession.created_at <= now - lifetime))
    row = IdpSession(
        id=new_id(),
        user_id=user_id,
        auth_time=auth_time,
        created_at=now,
        sid=secrets.token_urlsafe(16),
    )
    db.session.add(row)
    return row


def live(session_id: str, now: int, lifetime: int) -> tuple[IdpSession, User] | None:
    """The row and its user, if the session has not ended and is younger than `lifetime`."""
    found = db.session.execute(
        select(IdpSession, User)
        .join(User, User.id == IdpSession.user_id)
        .where(
            IdpSession.id == session_id,
            IdpSession.ended_at.is_(None),
            IdpSession.created_at > now - lifetime,
        )
    ).first()
    return None if found is None else (found[0], found[1])


def end(session_id: str, now: int) -> None:
    """End one session (the caller commits)."""
    db.session.execute(
        update(IdpSession)
        .where(IdpSession.id == session_id, IdpSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_by_sid(sid: str, user_id: str, now: int) -> None:
    """End the session an ID token's `sid` names, if it is this user's (the caller commits)."""
    db.session.execute(
        update(IdpSession)
        .where(IdpSession.sid == sid, IdpSession.user_id == user_id, IdpSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_all_of(user_id: str, now: int) -> None:
    """End every session of an account, in every browser (the caller commits)."""
    db.session.execute(
        update(IdpSession)
        .where(IdpSession.user_id == user_id, IdpSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_saml_session(session_index: str, now: int) -> None:
    """End the sessions that served this SAML session (the caller commits)."""
    db.session.execute(
        update(IdpSession)
        .where(IdpSession.saml_session_index == session_index, IdpSession.ended_at.is_(None))
        .values(ended_at=now)
    )
