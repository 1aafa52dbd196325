"""The outbox: where mail would be sent, stored instead (there is no mail server).

The demo shows it at `/_demo/outbox` and tests read `/_demo/outbox.json`; both exist only with
DEMO_CONTROLS on.
"""

from __future__ import annotations

import re
import time
from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from mock_idp import users
from mock_idp.models import db

# A URL ends before whitespace, and a sentence's closing punctuation is not part of it.
_LINK = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?)]")


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


def links(body: str) -> list[str]:
    """The URLs in a message body, in order."""
    return _LINK.findall(body)


def messages(to: str | None = None) -> list[OutboxMessage]:
    """Messages, newest first, optionally only those to one address."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if to:
        query = query.where(OutboxMessage.to == users.normalize_email(to))
    return list(db.session.scalars(query))


def sent_at(message: OutboxMessage) -> str:
    """When the message was queued, as a readable UTC timestamp."""
    return datetime.fromtimestamp(message.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def as_json(message: OutboxMessage) -> dict[str, Any]:
    """The wire form of a message for tests and tools."""
    return {
        "id": message.id,
        "to": message.to,
        "subject": message.subject,
        "body": message.body,
        "links": links(message.body),
        "created_at": message.created_at,
    }


bp = Blueprint("outbox", __name__, url_prefix="/_demo")


@bp.before_request
def _demo_controls_only() -> None:
    # Without demo controls these routes do not exist, as far as anyone can tell.
    if not current_app.config.get("DEMO_CONTROLS"):
        abort(404)


@bp.get("/outbox")
def outbox_page() -> str:
    """The demo's mailbox: every message with its links, newest first."""
    return render_template(
        "outbox/outbox.html",
        messages=messages(request.args.get("to")),
        links=links,
        sent_at=sent_at,
    )


@bp.get("/outbox.json")
def outbox_json() -> Response:
    """Messages as JSON, newest first, filtered by `?to=<email>`."""
    response = jsonify(messages=[as_json(m) for m in messages(request.args.get("to"))])
    response.headers["Cache-Control"] = "no-store"
    return response
