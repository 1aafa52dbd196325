"""What a speaker does in every journey: log in at the portal through the IdP."""

from __future__ import annotations

from playwright.sync_api import Page
from playwright.sync_api import expect


def log_in(page: Page, email: str, password: str) -> None:
    """Start at the portal, sign in at the IdP, land back on the portal signed in."""
    page.goto("/")
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
