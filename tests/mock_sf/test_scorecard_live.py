"""The security scorecard in CI (issue 10): every variant the live mock_idp forge mints, against
every handler class mock_sf ships (the built-in ones and the Apex mirror), each as expected.

The IdP is the real one of the session's stack; mock_sf runs in this process, trusting it, so
each handler class can be made the app's default in turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from devstack import Stack
from mock_sf import create_app
from mock_sf.handlers import handler_context
from mock_sf.handlers.registration import BUILT_IN_CLASSES
from mock_sf.handlers.registration import parse_entry
from mock_sf.handlers.registration import register
from mock_sf.models import ConnectedApp
from mock_sf.models import OauthTokenExchHandlerApp
from mock_sf.models import db
from mock_sf.setup import scorecard

ALL_TYPES = ["access_token", "id_token", "jwt", "refresh_token", "saml2"]
JWT_TYPES = ["access_token", "id_token", "jwt"]
COMPOSITE = "mock_sf.handlers.composite:BuiltInTokenExchangeHandler"


@pytest.fixture(scope="module")
def live(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """mock_sf trusting the stack's IdP (its JWKS, SAML certificate and introspection)."""
    folder: Path = tmp_path_factory.mktemp("scorecard_live")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{folder / 'sf.sqlite3'}",
            "IDP_URL": stack.urls["idp"],
            # The forge addresses JWTs and SAML assertions to the stack's Salesforce.
            "SF_URL": stack.urls["sf"],
            "ARGON2_PROFILE": "CHEAPEST",
            "SIGNING_KEY_FILE": str(folder / "signing_key.json"),
        }
    )
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.engine.dispose()


def make_default(app: Flask, handler_class: str) -> str:
    """Register ``handler_class`` for SpeakerPortal and make it the default handler."""
    name = "Scorecard_" + handler_class.rpartition(":")[2]
    with app.app_context():
        entry = {
            "developer_name": name,
            "class": handler_class,
            "token_types": ALL_TYPES if handler_class == COMPOSITE else JWT_TYPES,
            "apps": [{"app": "SpeakerPortal", "run_as": "integration@sf.example"}],
        }
        register(parse_entry(entry))
        for link in db.session.scalars(select(OauthTokenExchHandlerApp)):
            link.is_default = link.handler.developer_name == name
        db.session.commit()
    return name


@pytest.mark.parametrize("handler_class", list(BUILT_IN_CLASSES))
def test_every_forged_variant_gets_its_expected_verdict(
    live: Flask, stack: Stack, handler_class: str
) -> None:
    name = make_default(live, handler_class)
    with live.app_context():
        card = scorecard.run(
            scorecard.ForgeClient(stack.urls["idp"]),
            db.session.scalar(
                select(ConnectedApp).where(ConnectedApp.developer_name == "SpeakerPortal")
            ),
            handler_context(),
            audiences=scorecard.forge_audiences(live.config),
        )
    rows = [(r.variant.kind, r.variant.variant, r.status, r.verdict, r.detail) for r in card.rows]
    assert [row for row in rows if row[2] != "pass"] == []
    kinds = {"access_token", "id_token", "jwt"} | (
        {"refresh_token", "saml2"} if handler_class == COMPOSITE else set()
    )
    # Every JWT variant (and, for the demo's handler, every variant) ran in this handler; the
    # oversized ones never reach a handler: the token endpoint refuses them first.
    by_handler = {r.handler for r in card.rows if r.variant.kind in kinds}
    assert by_handler == {name, "token endpoint"}
    minted = {(r.variant.kind, r.variant.variant) for r in card.rows}
    assert {("access_token", "too_long_lived"), ("access_token", "other_client")} <= minted
    assert ("saml2", "too_long_lived") in minted
