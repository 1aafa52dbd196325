"""init-db --demo is idempotent and seeds what common.md promises."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from mock_sf import models
from mock_sf.models import db


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    with app.app_context():
        return {
            table.name: sorted(db.session.execute(table.select()).all(), key=repr)
            for table in models.Base.metadata.sorted_tables
        }


def test_init_db_demo_twice_adds_and_changes_nothing(app: Flask) -> None:
    before = snapshot(app)
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    assert snapshot(app) == before


def test_demo_data(app: Flask) -> None:
    with app.app_context():
        portal = db.session.scalar(select(models.ConnectedApp))
        assert (portal.developer_name, portal.consumer_key, portal.consumer_secret) == (
            "SpeakerPortal",
            "speaker-portal",
            "portal-sf-demo-secret",
        )
        assert portal.is_token_exchange_enabled and portal.is_secret_required_for_token_exchange
        assert portal.scope_set == {"api", "refresh_token", "openid"}
        link = db.session.scalar(select(models.OauthTokenExchHandlerApp))
        assert link.is_default and link.app_id == portal.id
        handler = link.handler
        assert handler.developer_name == "SpeakerTokenHandler" and handler.is_enabled
        assert handler.is_user_creation_allowed
        assert handler.handler_class == "mock_sf.handlers.composite:BuiltInTokenExchangeHandler"
        supported = (
            handler.supports_access_token,
            handler.supports_refresh_token,
            handler.supports_id_token,
            handler.supports_jwt,
            handler.supports_saml2,
        )
        assert supported == (True,) * 5
        admin = db.session.scalar(
            select(models.User).where(models.User.username == "admin@sf.example")
        )
        assert admin.user_type == "Standard" and admin.user_role is None
        assert models.password_hasher().verify(admin.password_hash, "admin-demo")
        # The handler runs as an integration user with a role, who owns the speakers' accounts.
        run_as = db.session.get(models.User, link.run_as_user_id)
        assert (run_as.username, run_as.user_role) == (
            "integration@sf.example",
            "Speaker Portal Owner",
        )
        assert (run_as.user_type, run_as.password_hash) == ("Standard", None)  # no Setup login
        ada = db.session.scalar(
            select(models.User).where(models.User.username == "ada@speakers.example")
        )
        assert (
            ada.federation_identifier
            == "http://127.0.0.1:18001/oauth2/default|00u1ada1demo1speaker"
        )
        assert ada.user_type == "CspLitePortal"
        assert ada.contact.last_name == "Lovelace" and ada.account.name == "Analytical Engines Ltd"
        assert ada.account.owner_id == run_as.id
        subjects = db.session.scalars(
            select(models.Case.subject).order_by(models.Case.case_number)
        ).all()
        assert subjects == ["Projector adapter for room B", "Travel reimbursement form"]


def test_init_db_without_demo_creates_only_tables(tmp_path: Any) -> None:
    from mock_sf import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(models.User)) is None
        db.engine.dispose()


def test_health_and_home(client: Any) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    home = client.get("/").get_data(as_text=True)
    assert "not for production" in home
    assert "http://127.0.0.1:18001/oauth2/default" in home
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and "not for production" in missing.get_data(as_text=True)


def test_a_demo_seeded_with_the_admin_as_run_as_user_moves_to_the_integration_user(
    app: Flask,
) -> None:
    with app.app_context():
        link = db.session.scalar(select(models.OauthTokenExchHandlerApp))
        admin = db.session.scalar(
            select(models.User).where(models.User.username == "admin@sf.example")
        )
        link.run_as_user_id = admin.id  # what seeds before the integration user stored
        db.session.commit()
    assert app.test_cli_runner().invoke(args=["init-db", "--demo"]).exit_code == 0
    with app.app_context():
        link = db.session.scalar(select(models.OauthTokenExchHandlerApp))
        assert link.run_as_user.username == "integration@sf.example"
