"""The IdP session kept server-side: the cookie names a row, every use checks the row is live."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from mock_idp import create_app
from mock_idp.idp_sessions import IdpSession
from mock_idp.models import db
from tests.mock_idp import idp_session

ADA = ("ada@speakers.example", "ada-demo")
GRACE = ("grace@speakers.example", "grace-demo")
SP = "http://127.0.0.1:8000/saml/metadata"


def code_now(flow: Any) -> bool:
    """Whether the browser gets a code without signing in (a live IdP session)."""
    return "code=" in flow.authorize(prompt="none").headers["Location"]


@contextmanager
def session_reads(app: Flask) -> Iterator[list[str]]:
    """The SELECTs that read idp_sessions while the block runs."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def on_execute(*args: Any) -> None:
        statement = " ".join(args[2].split())
        if statement.startswith("SELECT") and "idp_sessions" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def test_a_logout_at_one_worker_ends_the_session_at_another(app, client, flow):
    flow.login(*ADA)
    # A second app on the same database and secret key, as another gunicorn worker would be.
    other_worker = create_app({**app.config, "TESTING": True})
    elsewhere = type(flow)(other_worker.test_client())
    elsewhere.client.set_cookie("idp_session", client.get_cookie("idp_session").value)
    assert code_now(elsewhere)
    client.post("/logout", data={"csrf_token": flow.csrf_token(client.get("/login").text)})
    assert not code_now(elsewhere)


def test_a_new_sign_in_ends_the_browsers_previous_session(client, flow):
    flow.login(*ADA)
    old_copy = type(flow)(idp_session.copy_cookie(client))
    flow.login(*GRACE)
    assert idp_session.signed_in_as(client) == "00u1grace1demo1spkr0"
    assert not code_now(old_copy)


def test_a_session_lasts_at_most_session_lifetime_and_old_rows_are_dropped(app, client, flow):
    flow.login(*ADA)
    lifetime = app.config["SESSION_LIFETIME"]
    assert lifetime == 12 * 3600
    with app.app_context():
        db.session.execute(update(IdpSession).values(created_at=int(time.time()) - lifetime))
        db.session.commit()
    assert flow.authorize().headers["Location"] == "/login"
    assert idp_session.session_id(client) is None  # the dead id left the cookie
    flow.login(*ADA)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(IdpSession)) == 1


def test_an_unknown_session_id_signs_nobody_in(client, flow):
    with client.session_transaction() as sess:
        sess["sid"] = "not-a-session"
        sess["uid"] = "00u1ada1demo1speaker"  # a cookie from before: the user id is not believed
        sess["auth_time"] = time.time()
    assert not code_now(flow)
    assert "You are signed in" not in client.get("/login").text


REQUESTS = {
    "login page": lambda flow: flow.client.get("/login"),
    "OIDC authorize": lambda flow: flow.authorize(),
    "SAML single sign-on": lambda flow: flow.client.get("/saml/idp-init", query_string={"sp": SP}),
}


@pytest.mark.parametrize("send", REQUESTS.values(), ids=REQUESTS.keys())
def test_a_request_reads_the_session_once(app, client, flow, send):
    """The SAML hook before every request and the view share one primary-key SELECT."""
    flow.login(*ADA)
    client.get("/saml/idp-init", query_string={"sp": SP})  # the cookie names a SAML session too
    with session_reads(app) as seen:
        assert send(flow).status_code in (200, 302)
    assert len(seen) == 1, seen
    assert "WHERE idp_sessions.id = " in seen[0]
