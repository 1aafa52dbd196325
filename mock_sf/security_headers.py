"""Headers that let the browser enforce what the pages already keep to: our own files only, never
framed (clickjacking of the login and Setup forms), no MIME sniffing, no full URLs in Referer.

A view that needs its own policy sets it first (``setdefault`` keeps it): the SAML POST binding's
auto-submitting form, the no-referrer pages that carry reset and confirmation tokens.
"""

from __future__ import annotations

from flask import Flask
from flask import Response

# No form-action: a login form's POST redirects on to the relying party's redirect_uri, and
# browsers check form-action along redirects. No 'unsafe-inline' anywhere: the templates have no
# inline script or style.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    """Add the headers to every response that has not set its own."""

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
