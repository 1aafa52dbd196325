"""Every HTML page of the IdP: a strict CSP, never framed, nosniff, a Referrer-Policy (issue 10)."""

from __future__ import annotations

from tests.route_walk import walk


def test_every_page_denies_framing_and_inline_code(demo_app, demo):
    found = walk(demo_app, demo)  # the forge and outbox pages too
    pages = int(found.pop("#html")[0])
    assert found == {}
    assert pages >= 15  # login, registration, reset, forge, outbox, home, errors ...
