"""Signing key rotation: `flask --app mock_idp rotate-keys` (and, with demo controls,
`POST /_demo/rotate-keys` in mock_idp/demo/key_rotation.py). The previous key stays in the JWKS
until every token it signed expired.
"""

from __future__ import annotations

import time

import click
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext

from mock_idp.keys import KeyStore
from mock_idp.keys import max_token_lifetime


def rotate(app: Flask, store: KeyStore) -> dict[str, object]:
    """Make a new active key; the old one is published for one max token lifetime + leeway."""
    retire_after = (
        int(time.time()) + max_token_lifetime(app.config) + int(app.config["KEY_RETIREMENT_LEEWAY"])
    )
    previous = store.kid
    kid = store.rotate(retire_after)
    app.logger.warning("mock_idp rotated its DEV-ONLY signing key: %s -> %s", previous, kid)
    return {"active_kid": kid, "previous_kid": previous, "previous_retire_after": retire_after}


@click.command("rotate-keys")
@with_appcontext
def rotate_keys_command() -> None:
    """Add a new signing key and make it active; running apps pick it up within a second."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    result = rotate(app, app.extensions["mock_idp.keys"])
    click.echo(f"active signing key: {result['active_kid']}")
