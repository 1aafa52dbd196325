"""``flask --app mock_sf prune``: the housekeeping the token endpoint never does on a request.

Deletes the ``jti``s whose tokens have expired (a replay of one fails its ``exp`` check anyway)
and the throttle's failures that have left their window. Run it from cron or a systemd timer
(e.g. every few minutes); nothing breaks if it never runs, the tables just grow.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from mock_sf.handlers.jwt import prune_seen_jtis
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.oauth import throttle


@click.command("prune")
@with_appcontext
def prune_command() -> None:
    """Delete expired jtis and throttle failures outside their window."""
    now = utcnow()
    jtis = prune_seen_jtis(now)
    window = current_app.config["SUBJECT_TOKEN_FAILURE_WINDOW_SECONDS"]
    failures = throttle.prune(window, now)
    db.session.commit()
    click.echo(f"pruned {jtis} expired jti(s) and {failures} throttle failure(s)")
