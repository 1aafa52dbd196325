"""The demo handler record's class: one record, every token type, routed by kind."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from mock_sf.demo import HANDLER
from mock_sf.demo import LEGACY_HANDLER_CLASS
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import db


def test_a_record_seeded_for_jwt_only_is_upgraded_once(app: Flask) -> None:
    with app.app_context():
        handler = db.session.scalar(select(OauthTokenExchangeHandler))
        handler.handler_class = LEGACY_HANDLER_CLASS
        handler.supports_refresh_token = handler.supports_saml2 = False
        db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-db", "--demo"]).exit_code == 0
    with app.app_context():
        handler = db.session.scalar(select(OauthTokenExchangeHandler))
        assert handler.handler_class == HANDLER["handler_class"]
        assert (handler.supports_refresh_token, handler.supports_saml2) == (True, True)
        handler.supports_saml2 = False  # an admin's later choice survives a re-seed
        db.session.commit()
    assert runner.invoke(args=["init-db", "--demo"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(OauthTokenExchangeHandler.supports_saml2)) is False
