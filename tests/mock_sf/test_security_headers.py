"""Every HTML page of mock_sf, Setup logged in or not: a strict CSP, never framed (issue 10)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.route_walk import walk


def test_every_page_denies_framing_and_inline_code_logged_out(app: Flask, client: Any) -> None:
    found = walk(app, client)
    assert int(found.pop("#html")[0]) >= 12  # the home page, Setup, error pages
    assert found == {}


def test_every_setup_page_denies_framing_and_inline_code(app: Flask, setup_admin: Any) -> None:
    found = walk(app, setup_admin.client)
    assert int(found.pop("#html")[0]) >= 12
    assert found == {}
