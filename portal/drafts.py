"""Drafts: what a speaker typed into a form that could not be sent, kept server-side.

When her login has ended by the time she sends a form, the portal keeps what she typed, sends
her to log in, and fills the form in again afterwards, marked "not sent yet". The browser holds
only a random owner key in its session cookie; the text stays in the portal's database.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from flask import request
from flask import session
from sqlalchemy import delete
from sqlalchemy import select

from .models import Draft
from .models import db

OWNER_KEY = "draft_owner"
# Form fields that are never part of what the speaker typed.
NOT_TYPED = frozenset({"csrf_token"})
MAX_FIELD_CHARS = 100_000


def _owner(create: bool) -> str | None:
    owner = session.get(OWNER_KEY)
    if owner is None and create:
        owner = session[OWNER_KEY] = secrets.token_urlsafe(24)
    return owner


def keep(form: str, fields: Mapping[str, str]) -> None:
    """Keep what was typed into the form that posts to `form`, replacing an older draft."""
    typed = {
        name: value[:MAX_FIELD_CHARS] for name, value in fields.items() if name not in NOT_TYPED
    }
    if not any(value.strip() for value in typed.values()):
        return
    owner = _owner(create=True)
    db.session.execute(delete(Draft).where(Draft.owner == owner, Draft.form == form))
    db.session.add(Draft(owner=owner, form=form, fields=typed))
    db.session.commit()


def keep_posted_form() -> None:
    """Keep the fields of the form this request posted, if it posted one."""
    if request.method == "POST" and request.form:
        keep(request.path, request.form.to_dict())


def find(form: str) -> dict[str, str] | None:
    """The draft kept for the form that posts to `form`, if any (it stays until sent)."""
    owner = _owner(create=False)
    if owner is None:
        return None
    return db.session.scalar(select(Draft.fields).where(Draft.owner == owner, Draft.form == form))


def discard(form: str) -> None:
    """Forget the draft of that form: it was sent, or the speaker threw it away."""
    owner = _owner(create=False)
    if owner is not None:
        db.session.execute(delete(Draft).where(Draft.owner == owner, Draft.form == form))
        db.session.commit()
