"""create_app: layered config, derived settings, the persisted secret key, init-db, headers."""

from __future__ import annotations

import os
import stat

from sqlalchemy import inspect

from portal import create_app
from portal.models import db


def test_defaults_follow_the_conventions(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    for name in ("PORTAL_URL", "IDP_URL", "SF_URL", "PORTAL_DATABASE_URL", "PORTAL_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)

    config = create_app().config

    assert config["SESSION_COOKIE_NAME"] == "portal_session"
    assert (config["SESSION_COOKIE_HTTPONLY"], config["SESSION_COOKIE_SAMESITE"]) == (True, "Lax")
    assert config["IDP_ISSUER"] == "http://127.0.0.1:8001/oauth2/default"
    assert config["SF_LOGIN_URL"] == "http://127.0.0.1:8002"
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert config["SF_CA_FILE"] is None


def test_env_overrides_defaults_and_test_config_overrides_env(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("IDP_URL", "http://127.0.0.1:9001/")
    monkeypatch.setenv("SF_URL", "http://127.0.0.1:9002")
    monkeypatch.setenv("PORTAL_SF_API_VERSION", "60.0")
    monkeypatch.setenv("PORTAL_SF_SCOPE", "api refresh_token")

    config = create_app({"SF_SCOPE": "api"}).config

    assert config["IDP_URL"] == "http://127.0.0.1:9001"
    assert config["IDP_ISSUER"] == "http://127.0.0.1:9001/oauth2/default"
    assert config["SF_LOGIN_URL"] == "http://127.0.0.1:9002"
    assert (config["SF_API_VERSION"], config["SF_SCOPE"]) == ("60.0", "api")


def test_secret_key_is_generated_once_and_kept_private(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)

    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]

    assert first == second and len(first) == 64
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


def test_init_db_is_idempotent_and_accepts_demo(app) -> None:
    runner = app.test_cli_runner()

    for _ in range(2):
        result = runner.invoke(args=["init-db", "--demo"])
        assert (result.exit_code, result.output) == (0, "")

    with app.app_context():
        assert {"user", "login_session", "draft"} <= set(inspect(db.engine).get_table_names())
        assert db.session.execute(db.text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(db.text("PRAGMA foreign_keys")).scalar() == 1


def test_init_db_starts_login_sessions_afresh_when_their_columns_changed(app) -> None:
    with app.app_context():  # the tables of a portal from before refresh tokens
        db.drop_all()
        db.session.execute(db.text("CREATE TABLE user (id INTEGER PRIMARY KEY, sub TEXT)"))
        db.session.execute(db.text("INSERT INTO user (id, sub) VALUES (1, 'kept')"))
        db.session.execute(db.text("CREATE TABLE login_session (id TEXT PRIMARY KEY)"))
        db.session.execute(db.text("INSERT INTO login_session (id) VALUES ('old')"))
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["init-db"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        columns = {c["name"] for c in inspect(db.engine).get_columns("login_session")}
        assert {"idp_refresh_token", "idp_token_sent", "renewal_lease"} <= columns
        assert db.session.execute(db.text("SELECT count(*) FROM login_session")).scalar() == 0
        assert db.session.execute(db.text("SELECT sub FROM user")).scalar() == "kept"


def test_healthz_is_json(client) -> None:
    response = client.get("/healthz")

    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_pages_carry_a_strict_csp_and_vendored_htmx(client) -> None:
    response = client.get("/")

    body = response.get_data(as_text=True)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    # "Log out" posts here and is redirected on to the IdP's logout: both must be allowed.
    assert "form-action 'self' http://idp.test;" in policy
    assert '<script src="/static/htmx-2.0.11.min.js" defer></script>' in body
    assert "<script>" not in body and "style=" not in body
    with client.get("/static/htmx-2.0.11.min.js") as script:
        assert script.status_code == 200


def test_unknown_page_is_a_friendly_404(client) -> None:
    response = client.get("/nope")

    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert '<h1 id="error-title" tabindex="-1" data-autofocus>Not Found</h1>' in body
    assert "There is no page at this address." in body
