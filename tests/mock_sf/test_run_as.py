"""Run As honoured: a handler runs as its enablement's Run As user, who owns what a new speaker
needs and must have a role; creation without one, or over a taken username, fails clearly."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import select

from mock_sf import migrations
from mock_sf.handlers.base import RunAsUserRequired
from mock_sf.handlers.base import run_as
from mock_sf.models import Account
from mock_sf.models import Contact
from mock_sf.models import ExchangeAttempt
from mock_sf.models import OauthTokenExchHandlerApp
from mock_sf.models import User
from mock_sf.models import db
from tests import schema_checks

AUTHENTICATION_FAILURE = {"error": "invalid_grant", "error_description": "authentication failure"}
INTEGRATION = "integration@sf.example"


def last_reason(app: Flask) -> str:
    with app.app_context():
        attempt = db.session.scalars(
            select(ExchangeAttempt).order_by(ExchangeAttempt.id.desc())
        ).first()
        assert attempt.outcome == "failure"
        return attempt.reason


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Contact, Account)
        )


def set_run_as(app: Flask, username: str | None) -> None:
    with app.app_context():
        link = db.session.scalar(select(OauthTokenExchHandlerApp))
        link.run_as_user_id = (
            db.session.scalar(select(User.id).where(User.username == username))
            if username
            else None
        )
        db.session.commit()


def test_a_new_speaker_is_owned_and_created_by_the_run_as_user(
    app: Flask, api: Any, idp: Any
) -> None:
    api.session_for(idp.GRACE_SUB)
    with app.app_context():
        integration = db.session.scalar(select(User).where(User.username == INTEGRATION))
        grace = db.session.scalar(select(User).where(User.username == "grace@speakers.example"))
        assert grace.created_by_id == integration.id
        assert (grace.contact.owner_id, grace.contact.created_by_id) == (integration.id,) * 2
        assert (grace.account.owner_id, grace.account.created_by_id) == (integration.id,) * 2
        assert grace.contact.account_id == grace.account_id


def test_creation_without_a_run_as_user_fails_with_the_reason_in_the_log(
    app: Flask, api: Any, idp: Any
) -> None:
    set_run_as(app, None)
    before = counts(app)
    response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert (response.status_code, response.get_json()) == (400, AUTHENTICATION_FAILURE)
    assert last_reason(app) == (
        "no Run As user is set for handler SpeakerTokenHandler on app SpeakerPortal; user"
        " creation needs one (Setup: the handler's enabled app)"
    )
    assert counts(app) == before


def test_an_existing_speaker_maps_without_a_run_as_user(api: Any, idp: Any, app: Flask) -> None:
    """UNCONFIRMED: a real enablement always has one (ApexExecutionUserId is required); the mock
    keeps older links without one working for users that need no DML."""
    set_run_as(app, None)
    assert api.exchange(idp.access_token(idp.ADA_SUB)).status_code == 200


def test_a_run_as_user_without_a_role_cannot_own_a_portal_account(
    app: Flask, api: Any, idp: Any
) -> None:
    set_run_as(app, "admin@sf.example")  # a new org's admin has no role
    before = counts(app)
    response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert (response.status_code, response.get_json()) == (400, AUTHENTICATION_FAILURE)
    assert last_reason(app) == (
        "portal account owner must have a role: account 'Compilers Inc' is owned by"
        " admin@sf.example, who has none; give the Run As user a role"
    )
    assert counts(app) == before


@pytest.mark.parametrize(
    ("federation_identifier", "shown"),
    [(None, "(none)"), ("https://other-idp.example|00u9", "https://other-idp.example|00u9")],
)
def test_a_speaker_under_another_federation_identifier_is_refused_clearly(
    app: Flask, api: Any, idp: Any, federation_identifier: str | None, shown: str
) -> None:
    with app.app_context():
        db.session.add(
            User(
                username="grace@speakers.example",
                email="grace@speakers.example",
                last_name="Hopper",
                user_type="CspLitePortal",
                federation_identifier=federation_identifier,
            )
        )
        db.session.commit()
    before = counts(app)
    response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert (response.status_code, response.get_json()) == (400, AUTHENTICATION_FAILURE)
    expected = f"{idp.ISSUER}|{idp.GRACE_SUB}"
    assert last_reason(app) == (
        f"a user with username grace@speakers.example already exists with federation identifier"
        f" {shown}, not {expected}; set its Federation ID to {expected} to link it, or rename it"
    )
    assert "UNIQUE" not in last_reason(app)
    assert counts(app) == before


def test_run_as_sets_owner_and_creator_and_refuses_without_a_user() -> None:
    account = Account(name="Acme")
    run_as(account, "005000000000001AAA")
    assert (account.owner_id, account.created_by_id) == ("005000000000001AAA",) * 2
    with pytest.raises(RunAsUserRequired):
        run_as(Contact(last_name="X"), None)


NEW_COLUMNS = {
    "account": {"owner_id", "created_by_id"},
    "contact": {"owner_id", "created_by_id"},
    "user": {"created_by_id", "user_role"},
}


def test_init_db_adds_the_ownership_columns_to_an_older_database(
    app: Flask, api: Any, idp: Any
) -> None:
    with app.app_context():
        with db.engine.connect() as conn:  # SQLite's documented way to drop FK columns
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table, new in NEW_COLUMNS.items():
                ddl = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = ?", (table,)
                ).scalar_one()
                lines = [line for line in ddl.split("\n") if not any(c in line for c in new)]
                ddl = re.sub(r",\s*\n\)$", "\n)", "\n".join(lines).rstrip())
                old = [
                    column["name"]
                    for column in inspect(conn).get_columns(table)
                    if column["name"] not in new
                ]
                renamed = re.sub(rf'TABLE "?{table}"?', f"TABLE {table}_new", ddl, count=1)
                conn.exec_driver_sql(renamed)
                columns = ", ".join(old)
                conn.exec_driver_sql(
                    f'INSERT INTO "{table}_new" ({columns}) SELECT {columns} FROM "{table}"'
                )
                conn.exec_driver_sql(f'DROP TABLE "{table}"')
                conn.exec_driver_sql(f'ALTER TABLE "{table}_new" RENAME TO "{table}"')
            schema_checks.before_alembic(migrations.alembic_config(), conn)
            conn.commit()
            for table, new in NEW_COLUMNS.items():
                assert not new & {column["name"] for column in inspect(conn).get_columns(table)}
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        for table, new in NEW_COLUMNS.items():
            assert new <= {column["name"] for column in inspect(db.engine).get_columns(table)}
    test_a_new_speaker_is_owned_and_created_by_the_run_as_user(app, api, idp)
