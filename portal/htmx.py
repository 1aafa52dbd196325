"""The two htmx rules the portal needs: recognise its requests, redirect them with HX-Redirect."""

from __future__ import annotations

from flask import Response
from flask import request


def is_htmx_request() -> bool:
    """Whether htmx sent this request (it wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def hx_redirect(url: str) -> Response:
    """A 200 that makes htmx navigate; XHR would silently follow a 302 instead."""
    return Response(status=200, headers={"HX-Redirect": url})
