"""CSRF protection for every form, and headers that let the browser enforce a strict CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask import Response
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def content_security_policy(idp_issuer: str) -> str:
    """A strict policy: only our own static files, forms only to us and the IdP."""
    # htmx is vendored, and base.html's htmx-config turns off its inline styles and its eval.
    # Browsers check form-action along redirects, and "Log out" goes on to the IdP's logout.
    idp = urlsplit(idp_issuer)
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"object-src 'none'; base-uri 'none'; form-action 'self' {idp.scheme}://{idp.netloc}; "
        "frame-ancestors 'none'"
    )


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    policy = content_security_policy(app.config["IDP_ISSUER"])

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")  # browsers before frame-ancestors
        return response
