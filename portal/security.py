"""CSRF protection for every form, and headers that let the browser enforce a strict CSP."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

# Scripts and styles only from our own static files: htmx is vendored, and base.html's
# htmx-config turns off its inline indicator styles and its eval.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
