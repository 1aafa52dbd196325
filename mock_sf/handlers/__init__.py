"""Token exchange handlers: the Apex interface mirrored in Python, and the built-in handlers."""

from __future__ import annotations

from functools import partial

from flask import Flask
from flask import current_app

from mock_sf.handlers.base import HandlerContext
from mock_sf.handlers.introspection import introspect
from mock_sf.handlers.jwks import JwksCache
from mock_sf.handlers.saml_metadata import SamlCertificates
from mock_sf.handlers.userinfo import fetch_userinfo


def init_app(app: Flask) -> None:
    """Hold the process-wide JWKS cache and the UserInfo callout (tests replace both)."""
    app.extensions["mock_sf.jwks"] = JwksCache(
        ttl=app.config["JWKS_CACHE_SECONDS"],
        cooldown=app.config["JWKS_REFETCH_COOLDOWN_SECONDS"],
        timeout=app.config["HTTP_TIMEOUT_SECONDS"],
    )
    app.extensions["mock_sf.fetch_userinfo"] = partial(
        fetch_userinfo, timeout=app.config["HTTP_TIMEOUT_SECONDS"]
    )
    # RFC 7662 callout and SAML IdP certificates (metadata cached): tests replace both.
    app.extensions["mock_sf.introspect"] = partial(
        introspect, timeout=app.config["HTTP_TIMEOUT_SECONDS"]
    )
    app.extensions["mock_sf.saml_certificates"] = SamlCertificates(
        ttl=app.config["SAML_METADATA_CACHE_SECONDS"],
        cooldown=app.config["JWKS_REFETCH_COOLDOWN_SECONDS"],
        timeout=app.config["HTTP_TIMEOUT_SECONDS"],
    )


def handler_context() -> HandlerContext:
    """The platform services a handler may use, for the current app."""
    return HandlerContext(
        config=current_app.config,
        jwks=current_app.extensions["mock_sf.jwks"],
        fetch_userinfo=current_app.extensions["mock_sf.fetch_userinfo"],
        logger=current_app.logger,
        introspect=current_app.extensions["mock_sf.introspect"],
        saml_certificates=current_app.extensions["mock_sf.saml_certificates"],
    )
