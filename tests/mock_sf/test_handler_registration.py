"""Handlers registered by configuration (SF_TOKEN_EXCHANGE_HANDLERS, applied by init-db) and by
the Setup console's New handler form; the example handler in mock_sf/handlers/examples.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mock_sf import create_app
from mock_sf import models
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import OauthTokenExchHandlerApp
from mock_sf.models import db

EXAMPLE = {
    "developer_name": "SpeakerDomainHandler",
    "label": "Speakers by email domain",
    "class": "mock_sf.handlers.examples:EmailDomainJwtHandler",
    "token_types": ["access_token", "id_token", "JWT"],
    "user_creation_allowed": True,
    "apps": [{"app": "SpeakerPortal", "run_as": "admin@sf.example"}],
}


def init_db(app: Flask, handlers: Any, *args: str) -> Any:
    app.config["TOKEN_EXCHANGE_HANDLERS"] = handlers
    return app.test_cli_runner().invoke(args=["init-db", *args])


def snapshot(app: Flask) -> dict[str, list[Any]]:
    with app.app_context():
        return {
            table.name: sorted(db.session.execute(table.select()).all(), key=repr)
            for table in models.Base.metadata.sorted_tables
        }


def test_a_configured_handler_is_registered_once(app: Flask) -> None:
    result = init_db(app, [EXAMPLE])
    assert result.exit_code == 0, result.output
    before = snapshot(app)
    assert init_db(app, [EXAMPLE], "--demo").exit_code == 0
    assert snapshot(app) == before
    with app.app_context():
        handler = db.session.scalar(
            select(OauthTokenExchangeHandler).where(
                OauthTokenExchangeHandler.developer_name == "SpeakerDomainHandler"
            )
        )
        flags = (
            handler.supports_access_token,
            handler.supports_refresh_token,
            handler.supports_id_token,
            handler.supports_saml2,
            handler.supports_jwt,
        )
        assert flags == (True, False, True, False, True)
        assert (handler.master_label, handler.is_enabled, handler.is_user_creation_allowed) == (
            "Speakers by email domain",
            True,
            True,
        )
        link = db.session.scalar(
            select(OauthTokenExchHandlerApp).where(
                OauthTokenExchHandlerApp.handler_id == handler.id
            )
        )
        admin = db.session.scalar(
            select(models.User.id).where(models.User.username == "admin@sf.example")
        )
        assert (link.app.developer_name, link.is_default, link.run_as_user_id) == (
            "SpeakerPortal",
            False,
            admin,
        )


def test_the_example_handler_exchanges_in_its_domain_only(app: Flask, api: Any, idp: Any) -> None:
    assert init_db(app, [EXAMPLE]).exit_code == 0
    ok = api.exchange(idp.access_token(idp.ADA_SUB), token_handler="SpeakerDomainHandler")
    assert ok.status_code == 200, ok.get_json()
    app.config["ALLOWED_EMAIL_DOMAIN"] = "compilers.example"
    refused = api.exchange(idp.access_token(idp.ADA_SUB), token_handler="EmailDomainJwtHandler")
    assert (refused.status_code, refused.get_json()) == (
        400,
        {"error": "invalid_request", "error_description": "email domain not allowed"},
    )
    # The built-in checks still run first: a wrong audience never reaches the domain rule.
    app.config["ALLOWED_EMAIL_DOMAIN"] = "speakers.example"
    bad_aud = api.exchange(
        idp.access_token(idp.ADA_SUB, aud="x"), token_handler="SpeakerDomainHandler"
    )
    assert bad_aud.get_json()["error_description"] == "token handler validation failed"


def test_a_configured_default_replaces_the_apps_default(app: Flask, api: Any, idp: Any) -> None:
    entry = {**EXAMPLE, "apps": [{"app": "SpeakerPortal", "default": True}]}
    assert init_db(app, [entry]).exit_code == 0
    app.config["ALLOWED_EMAIL_DOMAIN"] = "compilers.example"
    response = api.exchange(idp.access_token(idp.ADA_SUB), token_handler=None)
    assert response.get_json()["error_description"] == "email domain not allowed"


def test_the_env_variable_is_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("SF_TOKEN_EXCHANGE_HANDLERS", json.dumps([EXAMPLE]))
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'e.sqlite3'}"})
    assert app.config["TOKEN_EXCHANGE_HANDLERS"] == [EXAMPLE]


def _with(**changes: Any) -> list[dict[str, Any]]:
    return [{**EXAMPLE, **changes}]


@pytest.mark.parametrize(
    ("handlers", "message"),
    [
        pytest.param(
            _with(**{"class": "mock_sf.handlers.nowhere:Handler"}),
            "handler SpeakerDomainHandler: class cannot import 'mock_sf.handlers.nowhere':"
            " No module named 'mock_sf.handlers.nowhere'",
            id="not importable",
        ),
        pytest.param(
            _with(**{"class": "mock_sf.models:User"}),
            "handler SpeakerDomainHandler: class 'mock_sf.models:User' is not a"
            " TokenExchangeHandler subclass",
            id="not a handler",
        ),
        pytest.param(
            _with(**{"class": "mock_sf.handlers.examples"}),
            "handler SpeakerDomainHandler: class 'mock_sf.handlers.examples' is not of the form"
            " 'package.module:Class'",
            id="no class part",
        ),
        pytest.param(
            _with(apps=[{"app": "Nope"}]),
            "handler SpeakerDomainHandler: unknown connected app 'Nope'",
            id="unknown app",
        ),
        pytest.param(
            _with(apps=[{"app": "SpeakerPortal", "run_as": "nobody@sf.example"}]),
            "handler SpeakerDomainHandler: unknown run-as user 'nobody@sf.example'",
            id="unknown run-as user",
        ),
        pytest.param(
            _with(token_types=["saml"]),
            "handler SpeakerDomainHandler: unknown token type 'saml'; use access_token, id_token,"
            " jwt, refresh_token, saml2, saml_2",
            id="unknown token type",
        ),
        pytest.param(
            _with(enabled="yes"),
            "handler SpeakerDomainHandler: enabled must be true or false, not 'yes'",
            id="not a boolean",
        ),
        pytest.param(
            _with(developer_name="Speaker Handler"),
            "developer_name 'Speaker Handler' must start with a letter and contain only letters,"
            " digits and single underscores (at most 80 characters)",
            id="bad developer name",
        ),
        pytest.param(
            _with(jit_profile="Speakers"),
            "handler SpeakerDomainHandler: unknown profile 'Speakers'",
            id="unknown profile",
        ),
        pytest.param(
            [EXAMPLE, EXAMPLE],
            "developer_name listed twice: SpeakerDomainHandler",
            id="duplicate",
        ),
        pytest.param(
            "[{",
            "TOKEN_EXCHANGE_HANDLERS is not valid JSON: Expecting property name enclosed in"
            " double quotes: line 1 column 3 (char 2)",
            id="not JSON",
        ),
    ],
)
def test_an_invalid_entry_fails_init_db_clearly(app: Flask, handlers: Any, message: str) -> None:
    before = snapshot(app)
    result = init_db(app, handlers)
    assert result.exit_code == 1
    assert result.output == f"Error: SF_TOKEN_EXCHANGE_HANDLERS: {message}\n"
    assert snapshot(app) == before


NEW_HANDLER = {
    "developer_name": "FormHandler",
    "label": "",
    "handler_class": "mock_sf.handlers.examples:EmailDomainJwtHandler",
    "supports_id_token": "y",
    "is_enabled": "y",
    "jit_profile": "",
    "app": "SpeakerPortal",
    "run_as": "admin@sf.example",
}


def test_the_new_handler_form_creates_a_record(app: Flask, setup_admin: Any, idp: Any) -> None:
    page = setup_admin.client.get("/setup/handlers/new").get_data(as_text=True)
    assert 'name="handler_class"' in page and 'value="SpeakerPortal"' in page
    response = setup_admin.post("/setup/handlers/new", NEW_HANDLER)
    assert response.status_code == 303
    with app.app_context():
        handler = db.session.scalar(
            select(OauthTokenExchangeHandler).where(
                OauthTokenExchangeHandler.developer_name == "FormHandler"
            )
        )
        assert response.headers["Location"] == f"/setup/handlers/{handler.id}"
        assert (handler.master_label, handler.supports_id_token, handler.supports_jwt) == (
            "FormHandler",
            True,
            False,
        )
    token = idp.id_token(idp.ADA_SUB)
    exchanged = setup_admin.client.post(
        "/services/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": token,
            "subject_token_type": idp.ID_TOKEN_TYPE,
            "client_id": "speaker-portal",
            "client_secret": "portal-sf-demo-secret",
            "token_handler": "FormHandler",
        },
    )
    assert exchanged.status_code == 200, exchanged.get_json()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"handler_class": "mock_sf.handlers.nowhere:X"},
            "handler FormHandler: class cannot import 'mock_sf.handlers.nowhere': No module named"
            " 'mock_sf.handlers.nowhere'",
            id="not importable",
        ),
        pytest.param(
            {"developer_name": "SpeakerTokenHandler"},
            "A handler named SpeakerTokenHandler already exists.",
            id="duplicate",
        ),
        pytest.param(
            {"supports_id_token": ""},
            "handler FormHandler: token_types must be a non-empty list of access_token, id_token,"
            " jwt, refresh_token, saml2, saml_2",
            id="no token type",
        ),
        pytest.param(
            {"run_as": "nobody@sf.example"},
            "handler FormHandler: unknown run-as user 'nobody@sf.example'",
            id="unknown run-as",
        ),
    ],
)
def test_the_new_handler_form_keeps_input_on_error(
    app: Flask, setup_admin: Any, changes: dict[str, str], message: str
) -> None:
    before = snapshot(app)
    form = {**NEW_HANDLER, **changes}
    response = setup_admin.post("/setup/handlers/new", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'<p class="error" role="alert">{message}</p>'.replace("'", "&#39;") in page
    assert f'value="{form["handler_class"]}"' in page
    assert f'value="{form["developer_name"]}"' in page
    assert 'value="nobody@sf.example"' in page or form["run_as"] == "admin@sf.example"
    assert snapshot(app) == before
