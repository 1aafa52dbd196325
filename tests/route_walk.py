"""Walk every GET route of an app and check the security headers of each HTML page it serves."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

ARGUMENT = re.compile(r"<(?:[^:<>]+:)?[^<>]+>")


def get_paths(app: Flask) -> list[str]:
    """Every GET route, an argument filled with a value no record has (a 404 is a page too)."""
    paths = {
        ARGUMENT.sub("x0000000000000AAA", rule.rule)
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint != "static"
    }
    return sorted(paths)


def header_problems(response: Any) -> list[str]:
    """What an HTML response lacks: a CSP without unsafe-inline, no framing, nosniff, referrer."""
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    problems = []
    if not policy:
        problems.append("no Content-Security-Policy")
    if "unsafe-inline" in policy or "unsafe-eval" in policy:
        problems.append(f"CSP allows inline code: {policy}")
    if "frame-ancestors 'none'" not in policy or headers.get("X-Frame-Options") != "DENY":
        problems.append("framing not denied")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no nosniff")
    if headers.get("Referrer-Policy") not in ("same-origin", "no-referrer", "strict-origin"):
        problems.append(f"Referrer-Policy {headers.get('Referrer-Policy')!r}")
    return problems


def walk(app: Flask, client: Any, **kwargs: Any) -> dict[str, list[str]]:
    """{path: problems} over every GET route whose answer is HTML; the HTML count as '#html'."""
    found: dict[str, list[str]] = {}
    pages = 0
    for path in get_paths(app):
        response = client.get(path, **kwargs)
        assert response.status_code < 500, (path, response.status_code)
        if response.mimetype == "text/html":
            pages += 1
            if problems := header_problems(response):
                found[path] = problems
    found["#html"] = [str(pages)]
    return found
