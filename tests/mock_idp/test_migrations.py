"""mock_idp's schema comes from its Alembic revisions: they agree with the models, and init-db
brings a database from before Alembic (its oldest shape we can rebuild) to head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine

from mock_idp import create_app
from mock_idp import migrations
from mock_idp.models import Base
from mock_idp.models import db
from tests import schema_checks

HEAD = schema_checks.head(migrations.alembic_config())
# Added after the first release (models.py says which): an older database lacks them, and has
# no alembic_version.
LATER_COLUMNS = {
    "clients": {"token_endpoint_auth_method", "post_logout_redirect_uris", "introspects_for"},
    "saml_service_providers": {"slo_binding", "want_requests_signed"},
}
LATER_TABLES = {"oidc_refresh_tokens", "saml_logout_legs", "saml_session_participants"}


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signing_keys_json: str) -> Any:
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "signing-keys.json").write_text(signing_keys_json)
    for name in ("IDP_URL", "PORTAL_URL", "SF_URL", "IDP_DATABASE_URL", "IDP_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)

    def make(url: str) -> Flask:
        return create_app({"TESTING": True, "PASSWORD_HASH_PROFILE": "cheap", "DATABASE_URL": url})

    return make


def init_db(app: Flask, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=["init-db", *args])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()


def test_the_revisions_create_what_the_models_declare(database_url: str, make_app: Any) -> None:
    """No pending autogenerate diff: a model change without a revision fails here."""
    init_db(make_app(database_url))
    assert schema_checks.version(database_url) == HEAD
    assert schema_checks.pending_changes(database_url, Base.metadata) == []


def test_init_db_brings_the_oldest_database_to_head_and_then_changes_nothing(
    database_url: str, make_app: Any, postgres_database: Any, tmp_path: Path
) -> None:
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    if database_url.startswith("postgresql"):
        fresh = postgres_database()
    init_db(make_app(fresh))
    engine = create_engine(database_url)
    schema_checks.older(
        schema_checks.baseline(migrations.alembic_config()), LATER_COLUMNS, LATER_TABLES
    ).create_all(engine)
    engine.dispose()
    app = make_app(database_url)

    init_db(app, "--demo")

    upgraded = schema_checks.schema(database_url)
    assert upgraded == schema_checks.schema(fresh)
    assert schema_checks.version(database_url) == HEAD
    init_db(app, "--demo")
    assert schema_checks.schema(database_url) == upgraded
