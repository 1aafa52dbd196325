"""The IdP session as tests see it: the database row that a browser's `idp_session` cookie names."""

from __future__ import annotations

import time

from flask.testing import FlaskClient
from sqlalchemy import update

from mock_idp import idp_sessions
from mock_idp.idp_sessions import IdpSession
from mock_idp.models import db


def session_id(client: FlaskClient) -> str | None:
    """The session row id in the browser's cookie, if any."""
    with client.session_transaction() as sess:
        return sess.get("sid")


def live_row(client: FlaskClient) -> tuple[str, float] | None:
    """(user id, auth_time) of the live session the cookie names, else None."""
    sid = session_id(client)
    if sid is None:
        return None
    app = client.application
    with app.app_context():
        found = idp_sessions.live(sid, int(time.time()), app.config["SESSION_LIFETIME"])
        return None if found is None else (found[0].user_id, found[0].auth_time)


def public_sid(client: FlaskClient) -> str:
    """The `sid` (the session's public name in ID tokens) of the browser's IdP session."""
    with client.application.app_context():
        row = db.session.get(IdpSession, session_id(client))
        assert row is not None and row.sid, "no IdP session"
        return row.sid


def signed_in_as(client: FlaskClient) -> str | None:
    """The user id of the browser's live IdP session, else None."""
    row = live_row(client)
    return None if row is None else row[0]


def auth_time(client: FlaskClient) -> float:
    """When the browser's live IdP session authenticated (it must have one)."""
    row = live_row(client)
    assert row is not None, "no live IdP session"
    return row[1]


def set_auth_time(client: FlaskClient, value: float) -> None:
    """Pretend the browser's IdP session authenticated at `value` (epoch seconds)."""
    sid = session_id(client)
    assert sid is not None, "no IdP session cookie"
    with client.application.app_context():
        db.session.execute(update(IdpSession).where(IdpSession.id == sid).values(auth_time=value))
        db.session.commit()


def copy_cookie(client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of this browser's `idp_session` cookie (a stolen cookie)."""
    cookie = client.get_cookie("idp_session")
    assert cookie is not None, "no IdP session cookie to copy"
    thief = client.application.test_client()
    thief.set_cookie("idp_session", cookie.value)
    return thief
