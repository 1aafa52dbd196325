"""CSRF protection (Flask-WTF) for every browser form, with the machine APIs exempt.

The APIs (``/services/...`` on the My Domain or a site prefix, ``/id/...``) authenticate with
client credentials or bearer tokens, never the ``sf_session`` cookie, so CSRF does not apply and
their clients could not send a token. Their blueprints are exempted by the paths they serve,
looked up on the first request, so blueprints registered anywhere in ``create_app`` are covered.
"""

from __future__ import annotations

import re

from flask import Flask
from flask import current_app
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

API_PATH = re.compile(r"^(/[^/]+)?/services/|^/id/")


def init_app(app: Flask) -> None:
    """Protect every unsafe request; exempt the API blueprints before the first check runs."""
    done = False

    @app.before_request
    def exempt_api_blueprints() -> None:
        nonlocal done
        if not done:  # url_map is final once requests flow; a race only repeats set.add
            for name in api_blueprints(current_app):
                csrf.exempt(current_app.blueprints[name])
            done = True

    csrf.init_app(app)  # registered after the hook above, so its check sees the exemptions


def api_blueprints(app: Flask) -> set[str]:
    """Names of the blueprints that serve an API path."""
    names = set()
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint in app.blueprints and API_PATH.match(rule.rule):
            names.add(blueprint)
    return names
