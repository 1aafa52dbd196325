"""create_app: config layering, persisted secret, cookie settings, home page and health."""

from __future__ import annotations

import os
import stat

from mock_idp import create_app


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("IDP_SECRET_KEY", raising=False)
    first = create_app({"PASSWORD_HASH_PROFILE": "cheap"})
    second = create_app({"PASSWORD_HASH_PROFILE": "cheap"})
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text()


def test_config_layers_env_then_test_config(tmp_path, monkeypatch):
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_URL", "http://127.0.0.1:18000/")
    monkeypatch.setenv("IDP_URL", "http://127.0.0.1:18001/")
    monkeypatch.setenv("IDP_DEMO_CONTROLS", "1")
    monkeypatch.setenv("IDP_ACCESS_TOKEN_LIFETIME", "600")
    app = create_app({"PASSWORD_HASH_PROFILE": "cheap", "ACCESS_TOKEN_LIFETIME": 900})
    assert app.config["PORTAL_URL"] == "http://127.0.0.1:18000"
    assert app.config["ISSUER"] == "http://127.0.0.1:18001/oauth2/default"
    assert app.config["SF_URL"] == "http://127.0.0.1:8002"
    assert app.config["DEMO_CONTROLS"] == 1
    assert app.config["ACCESS_TOKEN_LIFETIME"] == 900
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/mock_idp.sqlite3"


def test_database_url_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{tmp_path}/other.db")
    app = create_app({"PASSWORD_HASH_PROFILE": "cheap"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/other.db"


def test_sqlite_pragmas_are_set(app):
    from mock_idp.models import db

    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_session_cookie_settings(app):
    assert app.config["SESSION_COOKIE_NAME"] == "idp_session"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_home_page_is_honest_and_links_discovery(client):
    page = client.get("/").text
    assert "Mock IdP – not for production" in page
    assert 'href="http://127.0.0.1:8001/oauth2/default/.well-known/openid-configuration"' in page


def test_home_page_links_saml_metadata_and_registration(client):
    page = client.get("/").text
    assert 'href="/saml/metadata">http://127.0.0.1:8001/saml/metadata</a>' in page
    assert 'href="/register">Create an account</a>' in page
    assert "Demo controls" not in page  # the app fixture runs without them


def test_home_page_lists_demo_controls_only_when_they_are_on(demo):
    page = demo.get("/").text
    assert 'href="/_demo/outbox">Outbox</a>' in page
    assert 'href="/_demo/forge">Token forge</a>' in page
