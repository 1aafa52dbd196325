"""``flask --app mock_sf prune``: the housekeeping the token endpoint never does on a request.

Deletes the ``jti``s whose tokens have expired (a replay of one fails its ``exp`` check anyway),
the throttles' failures that have left their window (subject tokens, client secrets, Setup
passwords) and Setup sessions past their lifetime. Run it from cron or a systemd timer
(e.g. every few minutes); nothing breaks if it never runs, the tables just grow.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from mock_sf import failed_credentials
from mock_sf.handlers.jwt import prune_seen_jtis
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.oauth import throttle
from mock_sf.setup import admin


@click.command("prune")
@with_appcontext
def prune_command() -> None:
    """Delete expired jtis, throttle failures outside their window and old Setup sessions."""
    config, now = current_app.config, utcnow()
    jtis = prune_seen_jtis(now)
    failures = throttle.prune(config["SUBJECT_TOKEN_FAILURE_WINDOW_SECONDS"], now)
    windows = {
        failed_credentials.CLIENT_SECRET: config["CLIENT_SECRET_FAILURE_WINDOW_SECONDS"],
        failed_credentials.SETUP_LOGIN: config["SETUP_LOGIN_FAILURE_WINDOW_SECONDS"],
    }
    failures += failed_credentials.prune(windows, now)
    sessions = admin.prune_sessions(config["SETUP_SESSION_LIFETIME"], now)
    db.session.commit()
    click.echo(
        f"pruned {jtis} expired jti(s), {failures} throttle failure(s)"
        f" and {sessions} Setup session(s)"
    )
