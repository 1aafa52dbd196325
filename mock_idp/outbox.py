"""The outbox: where mail would be sent, stored instead (there is no mail server).

Account mail (registration, password reset) is stored here whether or not demo controls are on;
only with them does the demo show it (mock_idp/demo/outbox.py).
"""

from __future__ import annotations

import time

from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_idp import users
from mock_idp.models import db


class OutboxMessage(db.Model):
    """One email that the IdP would have sent."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int]


def send(to: str, subject: str, body: str) -> OutboxMessage:
    """Queue a message in the outbox (the caller commits)."""
    message = OutboxMessage(
        to=users.normalize_email(to), subject=subject, body=body, created_at=int(time.time())
    )
    db.session.add(message)
    return message


def messages(to: str | None = None) -> list[OutboxMessage]:
    """Messages, newest first, optionally only those to one address."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if to:
        query = query.where(OutboxMessage.to == users.normalize_email(to))
    return list(db.session.scalars(query))
