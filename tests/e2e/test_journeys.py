"""A speaker's journeys through the portal, the IdP and Salesforce, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect
from sqlalchemy import select

from devstack import FREE_PORTS
from devstack import Stack
from tests.e2e.speaker import log_in


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def stack(
    request: pytest.FixtureRequest,
    stack: Stack,
    tmp_path_factory: pytest.TempPathFactory,
    database_env: Callable[[str], dict[str, str]],
) -> Iterator[Stack]:
    """The session's stack (SQLite), then one on PostgreSQL: these journeys are the browser
    suite's sample on PostgreSQL (a whole second run would double its time)."""
    if request.param == "sqlite":
        yield stack
        return
    root = tmp_path_factory.mktemp("journeys-postgresql")
    with Stack(root, ports=FREE_PORTS, extra_env=database_env("postgresql")) as running:
        yield running


@pytest.fixture(scope="module")
def browser_context_args(stack: Stack) -> dict[str, Any]:
    """Pages are addressed relative to this module's portal."""
    return {"base_url": stack.urls["portal"]}


def create_case(page: Page, subject: str, description: str, priority: str) -> None:
    """Open the new-case form from the Support page, fill it and submit it."""
    page.get_by_role("link", name="New case").click()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Priority").select_option(priority)
    page.get_by_role("button", name="Create case").click()


def test_ada_logs_a_case_and_logs_out(page: Page, stack: Stack) -> None:
    log_in(page, "ada@speakers.example", "ada-demo")
    expect(page.get_by_text("Signed in as Ada Lovelace")).to_be_visible()

    page.get_by_role("link", name="Support", exact=True).click()
    expect(page.get_by_role("heading", name="Support cases")).to_be_visible()
    rows = page.locator("#case-rows tr")
    expect(rows.filter(has_text="Projector adapter for room B")).to_have_count(1)
    before = rows.count()

    create_case(page, "Lapel microphone for the keynote", "Room A, 10:00 on Friday.", "High")
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Case \d{8} created\."))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lapel microphone for the keynote")
    expect(page.locator(".case-facts")).to_contain_text("High")

    page.get_by_role("link", name="Support cases").click()  # the case lives in Salesforce
    expect(rows).to_have_count(before + 1)
    expect(rows.first).to_contain_text("Lapel microphone for the keynote")

    # Logging out ends the IdP session too: the IdP sends her back home, and asks for her
    # password at the next login.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(re.escape(stack.urls["portal"]) + r"/\?state="))
    expect(page.get_by_role("status")).to_have_text(
        "You are logged out, at the identity provider too."
    )
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    page.get_by_role("link", name="Log in").click()
    expect(page).to_have_url(re.compile("^" + re.escape(stack.urls["idp"])))
    expect(page.get_by_label("Password")).to_be_visible()


def test_grace_is_created_in_salesforce_by_her_first_case(
    page: Page, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(page, "grace@speakers.example", "grace-demo")
    expect(page.get_by_text("Signed in as Grace Hopper")).to_be_visible()

    page.get_by_role("link", name="Support", exact=True).click()
    expect(page.get_by_text("No cases yet.")).to_be_visible()
    create_case(page, "Visa invitation letter", "For the Lisbon edition.", "Medium")
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Case \d{8} created\."))
    page.get_by_role("link", name="Support cases").click()
    expect(page.locator("#case-rows tr").filter(has_text="Visa invitation letter")).to_have_count(1)

    user, contact, account = salesforce_records_for(
        stack, monkeypatch, f"{stack.urls['idp']}/oauth2/default|00u1grace1demo1spkr0"
    )
    assert user.email == "grace@speakers.example"
    assert contact.id == user.contact_id
    assert account.id == contact.account_id
    assert account.name == "Compilers Inc"


def salesforce_records_for(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, federation_identifier: str
) -> tuple[Any, Any, Any]:
    """Read mock_sf's own database (the stack's instance folder) for the user, contact, account."""
    from mock_sf import create_app
    from mock_sf.models import Account
    from mock_sf.models import Contact
    from mock_sf.models import User
    from mock_sf.models import db

    for name, value in stack.env.items():
        if name.startswith("SF_") or name.endswith("_URL"):
            monkeypatch.setenv(name, value)
    with create_app().app_context():
        try:
            user = db.session.scalars(
                select(User).where(User.federation_identifier == federation_identifier)
            ).one()
            contact = db.session.get(Contact, user.contact_id)
            account = db.session.get(Account, contact.account_id) if contact else None
            return user, contact, account
        finally:
            db.session.close()
            db.engine.dispose()  # a pooled PostgreSQL connection left to the GC warns later
