"""mock_sf: a mock Salesforce org (token exchange, REST API for Cases). Wiring only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from mock_sf import access_log
from mock_sf import config
from mock_sf import demo
from mock_sf import handlers
from mock_sf import migrations
from mock_sf import models
from mock_sf import oauth
from mock_sf import openapi
from mock_sf import org_config
from mock_sf import prune
from mock_sf import rest
from mock_sf import security_headers
from mock_sf import setup
from mock_sf import tls
from mock_sf import web

REPO_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build mock_sf in the three apps' steps: config, database, services, blueprints, errors,
    cli."""
    instance_path = os.environ.get("SF_INSTANCE_PATH") or str(REPO_ROOT / "instance" / "mock_sf")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    os.makedirs(app.instance_path, exist_ok=True)

    # config
    app.config.from_mapping(config.DEFAULTS)
    app.config.from_mapping(
        {key: os.environ.get(key, url) for key, url in config.PEER_URLS.items()}
    )
    app.config.from_prefixed_env("SF")
    if test_config is not None:
        app.config.from_mapping(test_config)
    config.finalize(app)
    app.json.sort_keys = False  # Salesforce's documented key order
    if app.config["TRUSTED_PROXIES"]:  # X-Forwarded-For only from the configured proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["TRUSTED_PROXIES"]))

    # database
    models.init_app(app)
    org_config.init_app(app)  # the per-process copy of Setup's configuration

    # services
    handlers.init_app(app)
    security_headers.init_app(app)  # CSP, no framing, nosniff, Referrer-Policy on every response
    access_log.init_app(app)  # the development server logs no codes or tokens

    # blueprints (oauth's and setup's init_app also hold their services: keys, CSRF, forge)
    app.register_blueprint(web.bp)
    app.register_blueprint(openapi.bp)  # /openapi.json, a mock aid
    oauth.init_app(app)  # My Domain and the Experience Cloud site prefix
    rest.init_app(app)  # My Domain and the Experience Cloud site prefix
    setup.init_app(app)  # CSRF for browser forms (APIs exempt), the forge client
    app.register_blueprint(setup.bp)

    # errors
    web.register_error_pages(app)

    # cli
    app.cli.add_command(demo.init_db_command)
    app.cli.add_command(migrations.db_command)
    app.cli.add_command(tls.tls_cert_command)
    app.cli.add_command(prune.prune_command)
    return app
