"""The portal's schema comes from its Alembic revisions: they agree with the models, and
init-db brings a database from before Alembic to head, starting stale login sessions afresh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy import text

from portal import create_app
from portal import migrations
from portal.models import Base
from portal.models import db
from tests import schema_checks

HEAD = schema_checks.head(migrations.alembic_config())
# Added after the first release: a login session of then lacks them (and is started afresh).
LATER_COLUMNS = {
    "login_session": {"idp_refresh_token", "idp_access_token_sent", "renewal_lease",
                      "renewal_lease_until", "sf_refresh_token", "sf_contact_id"},
}  # fmt: skip
LATER_TABLES = {"inspector_step", "saml_seen_assertion"}


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    for name in ("PORTAL_URL", "IDP_URL", "SF_URL", "PORTAL_DATABASE_URL", "PORTAL_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return lambda url: create_app({"TESTING": True, "DATABASE_URL": url})


def init_db(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["init-db"])
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
    with engine.begin() as connection:  # a speaker, and a login of then
        connection.execute(text("INSERT INTO \"user\" VALUES (1, 'kept', 'a@x', 'A')"))
        connection.execute(
            text(
                "INSERT INTO login_session (id, user_id, created_at, protocol,"
                " saml_assertion_sent) VALUES ('old', 1, '2024-01-01', 'oidc', false)"
            )
        )
    app = make_app(database_url)

    init_db(app)

    upgraded = schema_checks.schema(database_url)
    assert upgraded == schema_checks.schema(fresh)
    assert schema_checks.version(database_url) == HEAD
    with engine.connect() as connection:
        assert connection.execute(text('SELECT sub FROM "user"')).scalar_one() == "kept"
        assert connection.execute(text("SELECT count(*) FROM login_session")).scalar_one() == 0
    engine.dispose()
    init_db(app)
    assert schema_checks.schema(database_url) == upgraded
