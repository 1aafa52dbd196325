"""Account journeys at the IdP in a real browser: register and verify, forget and reset."""

from __future__ import annotations

import secrets

from playwright.sync_api import Page
from playwright.sync_api import expect

from devstack import Stack

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a much longer passphrase"


def fresh_email() -> str:
    """An address no other journey on the shared stack uses."""
    return f"lin.{secrets.token_hex(4)}@speakers.example"


def register(page: Page, email: str) -> None:
    """From the IdP's sign-in page, create an account."""
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("First name").fill("Lin")
    page.get_by_label("Last name").fill("Clark")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()


def follow_mailed_link(page: Page, stack: Stack, email: str, subject: str) -> None:
    """Open the demo outbox and follow the link in the newest such message."""
    page.goto(f"{stack.urls['idp']}/_demo/outbox")
    message = page.get_by_role("article", name=f"Message to {email}: {subject}").first
    message.get_by_role("link").click()


def sign_in(page: Page, email: str, password: str) -> None:
    """Fill the IdP's sign-in form."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_new_speaker_registers_verifies_and_signs_in_to_the_portal(
    page: Page, stack: Stack
) -> None:
    email = fresh_email()
    page.goto("/")
    page.get_by_role("link", name="Log in").click()
    register(page, email)

    follow_mailed_link(page, stack, email, "Verify your email address")
    expect(page.get_by_role("heading", name="Email verified")).to_be_visible()
    expect(page.get_by_text(f"{email} is verified")).to_be_visible()

    page.get_by_role("link", name="Sign in").click()
    sign_in(page, email, PASSWORD)
    expect(page.get_by_text("Signed in as Lin Clark")).to_be_visible()  # back at the portal


def test_a_speaker_resets_a_forgotten_password(page: Page, stack: Stack) -> None:
    email = fresh_email()
    page.goto(f"{stack.urls['idp']}/login")
    register(page, email)

    page.goto(f"{stack.urls['idp']}/login")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    follow_mailed_link(page, stack, email, "Reset your password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your password has been changed. Sign in with your new password."
    )

    sign_in(page, email, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
    sign_in(page, email, NEW_PASSWORD)
    expect(page.get_by_text(f"You are signed in as {email}.")).to_be_visible()


def test_a_speaker_who_has_not_confirmed_her_email_is_told_to(page: Page, stack: Stack) -> None:
    # Issue 10, finding 2: an unconfirmed address no longer logs in (nor makes a Salesforce user).
    email = fresh_email()
    page.goto("/")
    page.get_by_role("link", name="Log in").click()
    register(page, email)

    page.goto("/auth/login")
    sign_in(page, email, PASSWORD)

    expect(page.get_by_role("heading", name="Confirm your email address first")).to_be_visible()
    expect(page.get_by_text("confirmation email")).to_be_visible()
    page.goto("/")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
