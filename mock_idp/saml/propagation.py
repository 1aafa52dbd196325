"""Logout propagation (SAML Profiles §4.4.3.3-4, Core §3.7.3.2): the IdP sends a LogoutRequest to
every other session participant, one after the other over the front channel, and collects their
LogoutResponses by InResponseTo before it answers whoever started the logout.

The state is server-side, keyed by the IDs of the requests it sent, so a response is accepted
once, only from the SP it was sent to, and only while its logout is running; a replay finds nothing
outstanding.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_idp.models import db
from mock_idp.saml import sessions
from mock_idp.saml.assertion import new_id

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
NO_RESPONSE = "no response"
TIMED_OUT = "timed out"
KEEP_FOR = 86400  # seconds a finished or abandoned logout's record is kept


class SamlLogout(db.Model):
    """One single logout in progress: whose session, who asked, how to answer them."""

    __tablename__ = "saml_logouts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    session_index: Mapped[str] = mapped_column(String(40))
    # None when the speaker started it at the IdP (no SP to answer).
    initiator_entity_id: Mapped[str | None] = mapped_column(String(1000))
    initiator_request_id: Mapped[str | None] = mapped_column(String(200))
    initiator_binding: Mapped[str | None] = mapped_column(String(10))
    relay_state: Mapped[str | None] = mapped_column(String(80))
    started_at: Mapped[int]
    finished_at: Mapped[int | None]


class SamlLogoutLeg(db.Model):
    """The LogoutRequest sent (or to be sent) to one other session participant."""

    __tablename__ = "saml_logout_legs"

    request_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    logout_id: Mapped[str] = mapped_column(
        ForeignKey("saml_logouts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    sp_entity_id: Mapped[str] = mapped_column(String(1000))
    name_id: Mapped[str] = mapped_column(String(254))
    name_id_format: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[int | None]
    answered_at: Mapped[int | None]
    outcome: Mapped[str | None] = mapped_column(String(200))  # a StatusCode, or why not

    @property
    def succeeded(self) -> bool:
        """Whether this SP confirmed the logout in time."""
        return self.outcome == STATUS_SUCCESS


@dataclass(frozen=True)
class SendRequest:
    """Next step: send this leg's LogoutRequest."""

    leg: SamlLogoutLeg


@dataclass(frozen=True)
class Finished:
    """Last step: every leg is settled; `partial` if any SP did not confirm."""

    logout: SamlLogout
    legs: list[SamlLogoutLeg]

    @property
    def partial(self) -> bool:
        """Core §3.2.2.2 PartialLogout: logout did not reach every participant."""
        return not all(leg.succeeded for leg in self.legs)


def start(
    session_index: str,
    now: int,
    *,
    slo_capable: set[str],
    initiator: str | None = None,
    request_id: str | None = None,
    binding: str | None = None,
    relay_state: str | None = None,
) -> SamlLogout:
    """Begin a logout of `session_index`: one leg per other participant that has an SLO URL."""
    db.session.execute(delete(SamlLogout).where(SamlLogout.started_at < now - KEEP_FOR))
    logout = SamlLogout(
        id=secrets.token_urlsafe(24),
        session_index=session_index,
        initiator_entity_id=initiator,
        initiator_request_id=request_id,
        initiator_binding=binding,
        relay_state=relay_state,
        started_at=now,
    )
    db.session.add(logout)
    others = [
        p
        for p in sessions.participants(session_index)
        if p.sp_entity_id != initiator and p.sp_entity_id in slo_capable
    ]
    for position, participant in enumerate(others):
        db.session.add(
            SamlLogoutLeg(
                request_id=new_id(),
                logout_id=logout.id,
                position=position,
                sp_entity_id=participant.sp_entity_id,
                name_id=participant.name_id,
                name_id_format=participant.name_id_format,
            )
        )
    db.session.commit()
    return logout


def legs(logout: SamlLogout) -> list[SamlLogoutLeg]:
    """The logout's legs in sending order."""
    return list(
        db.session.scalars(
            select(SamlLogoutLeg)
            .where(SamlLogoutLeg.logout_id == logout.id)
            .order_by(SamlLogoutLeg.position)
        )
    )


def advance(logout: SamlLogout, now: int) -> SendRequest | Finished:
    """The next step: the first unsent leg, or the end (which ends the IdP session)."""
    all_legs = legs(logout)
    for leg in all_legs:
        if leg.sent_at is None:
            leg.sent_at = now
            db.session.commit()
            return SendRequest(leg)
    logout.finished_at = now
    sessions.end(logout.session_index, now)  # commits
    return Finished(logout, all_legs)


def outstanding(request_id: str | None) -> SamlLogoutLeg | None:
    """The sent, unanswered leg of a running logout that `request_id` names, if any."""
    leg = db.session.get(SamlLogoutLeg, request_id) if request_id else None
    if leg is None or leg.sent_at is None or leg.answered_at is not None:
        return None
    logout = db.session.get(SamlLogout, leg.logout_id)
    if logout is None or logout.finished_at is not None:
        return None
    return leg


def settle(leg: SamlLogoutLeg, status: str, now: int, timeout: int) -> SamlLogout:
    """Record an SP's answer; one that comes after `timeout` counts as not received."""
    leg.answered_at = now
    leg.outcome = status if now - (leg.sent_at or now) <= timeout else TIMED_OUT
    db.session.commit()
    return db.session.get_one(SamlLogout, leg.logout_id)


def give_up(logout: SamlLogout, now: int) -> None:
    """The speaker came back without an answer from the SP in progress: count it as failed."""
    for leg in legs(logout):
        if leg.sent_at is not None and leg.answered_at is None:
            leg.answered_at = now
            leg.outcome = NO_RESPONSE
    db.session.commit()


def running(logout_id: str | None) -> SamlLogout | None:
    """An unfinished logout by id."""
    logout = db.session.get(SamlLogout, logout_id) if logout_id else None
    return logout if logout is not None and logout.finished_at is None else None
