"""Demo controls (`IDP_DEMO_CONTROLS=1`): the outbox's pages, the token forge, key rotation over
HTTP and open client registration. The factory registers them only when demo controls are on;
without them none of their routes exists."""

from __future__ import annotations

from flask import Blueprint
from flask import Flask
from flask_wtf.csrf import CSRFProtect

from mock_idp.demo import client_registration
from mock_idp.demo import forge
from mock_idp.demo import key_rotation
from mock_idp.demo import outbox

BLUEPRINTS: tuple[Blueprint, ...] = (
    outbox.bp,
    forge.bp,
    key_rotation.bp,
    client_registration.bp,
)


def register(app: Flask, csrf: CSRFProtect) -> None:
    """Register every demo control's blueprint."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    # JSON for scripts and clients (mock_sf's scorecard, make bench, RFC 7591), not browsers.
    csrf.exempt(forge.bp)
    csrf.exempt(key_rotation.bp)
    csrf.exempt(client_registration.bp)
