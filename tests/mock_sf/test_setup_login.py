"""Setup console login (issue 10, findings 1 and 9): the admin session is a database row the
cookie names, so logout ends every copy; wrong passwords are throttled per username at the
client's address, per username everywhere and per address."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from mock_sf import create_app
from mock_sf import failed_credentials
from mock_sf.failed_credentials import CredentialFailure
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.setup.admin import SetupSession
from tests.mock_sf.conftest import SetupAdmin

ADMIN = "admin@sf.example"
INVALID = "Invalid username or password."


def from_address(app: Flask, address: str, forwarded_for: str | None = None) -> SetupAdmin:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return SetupAdmin(client)


def copy_cookie(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of this one's ``sf_session`` cookie (a stolen cookie)."""
    cookie = client.get_cookie("sf_session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("sf_session", cookie.value)
    return thief


def failures(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(CredentialFailure).order_by(CredentialFailure.id))
        return [(row.principal, row.remote_addr) for row in rows]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The Setup throttle's clock, frozen; move it with ``clock[0] += timedelta(...)``."""
    now = [utcnow().replace(microsecond=0)]
    monkeypatch.setattr(failed_credentials, "current_time", lambda: now[0])
    return now


# Finding 1: the admin session.


def test_a_copied_setup_cookie_is_dead_after_logout(app: Flask, setup_admin: SetupAdmin) -> None:
    thief = copy_cookie(app, setup_admin.client)
    assert thief.get("/setup/apps").status_code == 200  # the copy works while she is logged in
    assert setup_admin.post("/setup/logout").status_code == 303
    response = thief.get("/setup/apps")
    assert (response.status_code, response.headers["Location"]) == (
        302,
        "/setup/login?next=/setup/apps",
    )


def test_the_cookie_holds_only_the_session_id(setup_admin: SetupAdmin) -> None:
    with setup_admin.client.session_transaction() as sess:
        assert set(sess) - {"csrf_token", "_flashes"} == {"setup_session"}
        assert "setup_admin_id" not in sess


def test_a_setup_logout_at_one_worker_ends_the_session_at_another(
    app: Flask, setup_admin: SetupAdmin
) -> None:
    # A second app on the same database and secret key, as another gunicorn worker would be.
    other_worker = create_app({**app.config, "TESTING": True})
    try:
        elsewhere = copy_cookie(other_worker, setup_admin.client)
        assert elsewhere.get("/setup/").status_code == 200
        setup_admin.post("/setup/logout")
        assert elsewhere.get("/setup/").status_code == 302
    finally:
        with other_worker.app_context():
            db.engine.dispose()


def test_a_setup_session_lasts_at_most_its_lifetime(app: Flask, setup_admin: SetupAdmin) -> None:
    assert app.config["SETUP_SESSION_LIFETIME"] == 2 * 60 * 60
    with app.app_context():
        db.session.execute(
            update(SetupSession).values(created_at=utcnow() - timedelta(hours=2, seconds=1))
        )
        db.session.commit()
    assert setup_admin.client.get("/setup/").status_code == 302


def test_a_new_login_is_a_new_session(app: Flask, setup_admin: SetupAdmin) -> None:
    before = copy_cookie(app, setup_admin.client)
    setup_admin.post("/setup/logout")
    assert setup_admin.login().status_code == 303
    assert setup_admin.client.get("/setup/").status_code == 200
    assert before.get("/setup/").status_code == 302  # the old session stays ended
    with app.app_context():
        rows = db.session.scalars(select(SetupSession).order_by(SetupSession.created_at)).all()
        assert [row.ended_at is None for row in rows] == [False, True]


def test_a_deactivated_admin_is_out_at_once(app: Flask, setup_admin: SetupAdmin) -> None:
    with app.app_context():
        db.session.execute(update(User).where(User.username == ADMIN).values(is_active=False))
        db.session.commit()
    assert setup_admin.client.get("/setup/").status_code == 302


# Finding 9: the login throttle.


def test_setup_login_is_throttled(app: Flask, clock: list[datetime]) -> None:
    guesser = from_address(app, "10.6.6.6")
    for _ in range(5):
        response = guesser.login(ADMIN, "wrong")
        assert (response.status_code, INVALID in response.text) == (401, True)
    locked = guesser.login()  # the right password is not even checked
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "901"
    page = locked.get_data(as_text=True)
    at = (clock[0] + timedelta(seconds=901)).strftime("%H:%M")
    expected = f"Too many failed login attempts. Try again in about 15 minutes, after {at} UTC."
    assert f'<p class="error" role="alert">{expected}</p>' in page
    assert f'value="{ADMIN}"' in page and "admin-demo" not in page
    assert guesser.client.get("/setup/").status_code == 302
    clock[0] += timedelta(seconds=901)
    assert guesser.login().status_code == 303


def test_an_attacker_cannot_lock_the_admin_out_from_another_address(app: Flask) -> None:
    guesser = from_address(app, "10.6.6.6")
    for _ in range(5):
        guesser.login(ADMIN, "wrong")
    assert guesser.login().status_code == 429
    assert from_address(app, "10.0.0.2").login().status_code == 303


def test_attempts_while_locked_are_not_counted(app: Flask, clock: list[datetime]) -> None:
    guesser = from_address(app, "10.6.6.6")
    for _ in range(5):
        guesser.login(ADMIN, "wrong")
    clock[0] += timedelta(seconds=600)
    for _ in range(5):
        assert guesser.login(ADMIN, "wrong").status_code == 429
    assert guesser.login(ADMIN, "wrong").headers["Retry-After"] == "301"
    assert len(failures(app)) == 5


def test_one_address_guessing_many_usernames_is_locked(app: Flask) -> None:
    guesser = from_address(app, "10.6.6.6")
    for i in range(20):
        assert guesser.login(f"guess{i}@sf.example", "wrong").status_code == 401
    assert guesser.login().status_code == 429
    assert from_address(app, "10.0.0.2").login().status_code == 303


def test_the_username_ceiling_holds_at_every_address(app: Flask) -> None:
    app.config["SETUP_LOGIN_FAILURE_USER_LIMIT"] = 6
    for address in ("10.6.6.1", "10.6.6.2"):
        guesser = from_address(app, address)
        for _ in range(3):
            guesser.login(ADMIN.upper(), "wrong")  # usernames are counted case-insensitively
    assert from_address(app, "10.0.0.2").login().status_code == 429


def test_a_login_clears_the_usernames_count_at_that_address_only(app: Flask) -> None:
    admin = from_address(app, "10.0.0.2")
    for _ in range(4):
        admin.login(ADMIN, "wrong")
    assert admin.login().status_code == 303
    assert failures(app) == []
    guesser = from_address(app, "10.6.6.6")
    for _ in range(4):
        guesser.login(ADMIN, "wrong")
    admin.post("/setup/logout")
    admin.login()
    assert failures(app) == [(ADMIN, "10.6.6.6")] * 4


@pytest.mark.parametrize(
    ("app", "counted", "locked_out"),
    [({}, "10.0.0.1", True), ({"TRUSTED_PROXIES": 1}, "203.0.113.66", False)],
    indirect=["app"],
    ids=["no proxy trusted", "one proxy trusted"],
)
def test_setup_login_reads_x_forwarded_for_only_behind_a_trusted_proxy(
    app: Flask, counted: str, locked_out: bool
) -> None:
    guesser = from_address(app, "10.0.0.1", forwarded_for="203.0.113.66")
    for _ in range(5):
        guesser.login(ADMIN, "wrong")
    assert failures(app) == [(ADMIN, counted)] * 5
    # The admin behind the same socket address: locked out unless the proxy is trusted.
    admin = from_address(app, "10.0.0.1", forwarded_for="198.51.100.2")
    assert admin.login().status_code == (429 if locked_out else 303)


def test_prune_deletes_old_setup_sessions_and_credential_failures(
    app: Flask, setup_admin: SetupAdmin
) -> None:
    now = utcnow()
    with app.app_context():
        for kind, age in (("setup_login", 901), ("setup_login", 5), ("client_secret", 901)):
            db.session.add(
                CredentialFailure(
                    kind=kind,
                    principal=ADMIN,
                    remote_addr="10.6.6.6",
                    created_at=now - timedelta(seconds=age),
                )
            )
        old = db.session.scalar(select(User.id).where(User.username == ADMIN))
        db.session.add(SetupSession(id="old", user_id=old, created_at=now - timedelta(hours=3)))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["prune"])
    assert result.exit_code == 0, result.output
    assert (
        result.output == "pruned 0 expired jti(s), 2 throttle failure(s) and 1 Setup session(s)\n"
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SetupSession)) == 1
        ages = db.session.scalars(select(CredentialFailure.created_at)).all()
        assert ages == [now - timedelta(seconds=5)]
    assert setup_admin.client.get("/setup/").status_code == 200
