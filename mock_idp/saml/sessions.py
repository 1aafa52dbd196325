"""The SAML side of an IdP session: its SessionIndex and the SPs the speaker signed in to
(SAML Profiles §4.4.3.1: the session authority keeps track of the session participants).

Kept server-side, one row per IdP session and one per SP in it, because an SP's LogoutRequest or
LogoutResponse over HTTP-POST arrives cross-site without the `idp_session` cookie (SameSite=Lax):
the SessionIndex, not the cookie, says which session it is about. The cookie holds only the index.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_idp import idp_sessions
from mock_idp.models import db


class SamlSession(db.Model):
    """An IdP session that has served SAML: whose it is, and whether single logout ended it."""

    __tablename__ = "saml_sessions"

    session_index: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[int]
    ended_at: Mapped[int | None]


class SamlParticipant(db.Model):
    """An SP the speaker signed in to during one IdP session, with the NameID it was given."""

    __tablename__ = "saml_session_participants"
    __table_args__ = (UniqueConstraint("session_index", "sp_entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_index: Mapped[str] = mapped_column(
        ForeignKey("saml_sessions.session_index", ondelete="CASCADE"), index=True
    )
    sp_entity_id: Mapped[str] = mapped_column(
        ForeignKey("saml_service_providers.entity_id", ondelete="CASCADE")
    )
    name_id: Mapped[str] = mapped_column(String(254))
    name_id_format: Mapped[str] = mapped_column(String(200))
    signed_in_at: Mapped[int]


def live(session_index: str | None, user_id: str) -> SamlSession | None:
    """The session under `session_index` if it is this user's and has not been logged out."""
    row = db.session.get(SamlSession, session_index) if session_index else None
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return None
    return row


def standing(session_index: str, user_id: str | None, now: int, lifetime: int) -> str:
    """ "live"; "foreign" if it belongs to another user (the browser signed in again as someone
    else); or "over": logged out, older than `lifetime`, or unknown."""
    row = db.session.get(SamlSession, session_index)
    if row is not None and row.user_id != user_id:
        return "foreign"
    if row is None or row.ended_at is not None or row.created_at + lifetime <= now:
        return "over"
    return "live"


def open_session(session_index: str, user_id: str, now: int, lifetime: int) -> SamlSession:
    """Record a new IdP session, dropping records older than `lifetime` (nothing grows forever)."""
    db.session.execute(delete(SamlSession).where(SamlSession.created_at < now - lifetime))
    row = SamlSession(session_index=session_index, user_id=user_id, created_at=now)
    db.session.add(row)
    return row


def record(
    row: SamlSession, sp_entity_id: str, name_id: str, name_id_format: str, now: int
) -> None:
    """Note that this SP got an assertion in this session (the latest NameID wins)."""
    participant = db.session.scalar(
        select(SamlParticipant).where(
            SamlParticipant.session_index == row.session_index,
            SamlParticipant.sp_entity_id == sp_entity_id,
        )
    )
    if participant is None:
        participant = SamlParticipant(session_index=row.session_index, sp_entity_id=sp_entity_id)
        db.session.add(participant)
    participant.name_id = name_id
    participant.name_id_format = name_id_format
    participant.signed_in_at = now
    db.session.commit()


def participants(session_index: str) -> list[SamlParticipant]:
    """The SPs of a session, in the order the speaker signed in to them."""
    return list(
        db.session.scalars(
            select(SamlParticipant)
            .where(SamlParticipant.session_index == session_index)
            .order_by(SamlParticipant.signed_in_at, SamlParticipant.id)
        )
    )


def find_participant(
    sp_entity_id: str,
    name_id: str,
    name_id_format: str | None,
    session_indexes: list[str],
    cookie_index: str | None,
) -> SamlParticipant | None:
    """The live session entry a LogoutRequest names (Core §3.7.1), or None if nothing matches.

    With SessionIndex elements one of them must be the session's; without, the browser's own
    session is meant. The NameID must be the one this SP was given, in the same format.
    """
    candidates = session_indexes or ([cookie_index] if cookie_index else [])
    for index in candidates:
        participant = db.session.scalar(
            select(SamlParticipant)
            .join(SamlSession)
            .where(
                SamlParticipant.session_index == index,
                SamlParticipant.sp_entity_id == sp_entity_id,
                SamlSession.ended_at.is_(None),
            )
        )
        if participant is None or participant.name_id != name_id:
            continue
        if name_id_format is not None and name_id_format != participant.name_id_format:
            continue
        return participant
    return None


def end(session_index: str, now: int) -> None:
    """Mark the session logged out, with the IdP sessions it served: every copy of their cookie
    is signed out, even when the logout reached the IdP without one."""
    row = db.session.get(SamlSession, session_index)
    if row is not None and row.ended_at is None:
        row.ended_at = now
    idp_sessions.end_saml_session(session_index, now)
    db.session.execute(
        delete(SamlParticipant).where(SamlParticipant.session_index == session_index)
    )
    db.session.commit()


def is_ended(session_index: str) -> bool:
    """Whether single logout ended this session."""
    row = db.session.get(SamlSession, session_index)
    return row is not None and row.ended_at is not None
