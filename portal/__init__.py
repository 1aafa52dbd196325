"""Speaker Portal: speakers log in at the IdP and manage their Salesforce support cases."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from . import access_log
from . import auth
from . import cases
from . import config
from . import errors
from . import home
from . import idp
from . import inspector
from . import models
from . import saml
from . import schedule
from . import security
from . import sf_session
from . import token_vault


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the portal in the three apps' steps (config, database, services, blueprints,
    errors, cli); no network I/O here (IdP discovery is fetched on first login)."""
    repo_root = Path(__file__).resolve().parent.parent
    instance_path = os.environ.get("PORTAL_INSTANCE_PATH") or str(repo_root / "instance" / "portal")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    os.makedirs(app.instance_path, exist_ok=True)

    # config
    app.config.from_mapping(config.DEFAULTS)
    app.config.from_mapping(config.peer_urls(os.environ))
    app.config.from_prefixed_env("PORTAL")
    if test_config is not None:
        app.config.from_mapping(test_config)
    config.finish(app.config, app.instance_path)

    # database
    models.init_app(app)
    token_vault.init_app(app)  # the keys of the tokens at rest, read once

    # services
    saml.init_app(app)
    # The flow inspector sees every call the portal makes to the IdP, Salesforce and the schedule.
    idp.init_app(app, response_hooks=[inspector.observe])
    sf_session.init_app(app, response_hooks=[inspector.observe])
    auth.init_app(app)
    cases.init_app(app)
    security.init_app(app)
    access_log.init_app(app)  # the development server logs no codes or tokens
    schedule.init_app(app)
    schedule.schedule_http().hooks["response"].append(inspector.observe)
    inspector.init_app(app)
    security.csrf.exempt(schedule.api)  # bearer tokens only, never the session cookie

    # blueprints
    app.register_blueprint(home.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(schedule.api)
    app.register_blueprint(schedule.bp)
    if app.config["LOGIN_PROTOCOL"] == "saml":
        app.register_blueprint(saml.bp)

    # errors
    errors.init_app(app)

    # cli: init-db is added by models.init_app
    return app
