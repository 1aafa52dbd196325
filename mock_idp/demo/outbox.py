"""The outbox's pages (a demo control): `/_demo/outbox` for people, `/_demo/outbox.json` for tests
and tools. The mail itself is stored by mock_idp/outbox.py, demo controls or not."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import render_template
from flask import request

from mock_idp import outbox
from mock_idp.outbox import OutboxMessage

# A URL ends before whitespace, and a sentence's closing punctuation is not part of it.
_LINK = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?)]")


def links(body: str) -> list[str]:
    """The URLs in a message body, in order."""
    return _LINK.findall(body)


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


@bp.get("/outbox")
def outbox_page() -> str:
    """The demo's mailbox: every message with its links, newest first."""
    return render_template(
        "outbox/outbox.html",
        messages=outbox.messages(request.args.get("to")),
        links=links,
        sent_at=sent_at,
    )


@bp.get("/outbox.json")
def outbox_json() -> Response:
    """Messages as JSON, newest first, filtered by `?to=<email>`."""
    response = jsonify(messages=[as_json(m) for m in outbox.messages(request.args.get("to"))])
    response.headers["Cache-Control"] = "no-store"
    return response
