"""Mock identity provider: an Okta-shaped OIDC provider over one user directory (dev only)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from mock_idp import access_log
from mock_idp import config
from mock_idp import demo
from mock_idp import home
from mock_idp import key_rotation
from mock_idp import keys
from mock_idp import login
from mock_idp import migrations
from mock_idp import models
from mock_idp import oidc
from mock_idp import password_reset
from mock_idp import registration
from mock_idp import saml
from mock_idp import security_headers
from mock_idp import seed
from mock_idp import unavailable
from mock_idp import users
from mock_idp.oidc import authorize


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the IdP in the three apps' steps: config, database, services (keys, SAML, CSRF),
    blueprints, errors, cli."""
    repo_root = Path(__file__).resolve().parent.parent
    instance_path = os.environ.get("IDP_INSTANCE_PATH") or str(repo_root / "instance" / "mock_idp")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    os.makedirs(app.instance_path, exist_ok=True)

    # config
    app.config.from_mapping(config.defaults())
    app.config.update(config.peer_urls(os.environ))
    app.config.from_prefixed_env("IDP")
    if test_config is not None:
        app.config.update(test_config)
    config.finalize(app.config, app.instance_path)
    if proxies := int(app.config["TRUSTED_PROXIES"]):  # the throttle keys on the client address
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    # database
    models.init_app(app)

    # services
    users.init_app(app)
    keys.init_app(app)
    saml.init_app(app)
    security_headers.init_app(app)  # CSP, no framing, nosniff, Referrer-Policy on every response
    access_log.init_app(app)  # the development server logs no codes or tokens
    csrf = CSRFProtect(app)
    csrf.exempt(oidc.bp)  # the JSON endpoints authenticate clients, not browsers
    csrf.exempt(saml.bp)  # SAML POST bindings arrive cross-site from SPs, by design

    # blueprints
    app.register_blueprint(home.bp)
    app.register_blueprint(login.bp)
    app.register_blueprint(registration.bp)
    app.register_blueprint(password_reset.bp)
    app.register_blueprint(authorize.bp)
    app.register_blueprint(oidc.bp)
    app.register_blueprint(saml.bp)
    if app.config["DEMO_CONTROLS"]:  # otherwise their routes do not exist at all
        demo.register(app, csrf)  # outbox pages, forge, key rotation, client registration

    # errors: each blueprint renders its own (OAuth JSON for oidc, pages for the rest)
    unavailable.init_app(app)  # a database that cannot be reached: 503, in each dialect

    # cli
    app.cli.add_command(seed.init_db_command)
    app.cli.add_command(migrations.db_command)
    app.cli.add_command(key_rotation.rotate_keys_command)
    return app
